"""The rule catalogue: every check is a small pure function registered here.

A rule is registered with :func:`rule`::

    @rule("PAID_AFTER_DEATH", clause="3.1.3", title_zh="死亡后仍发放",
          title_en="Paid after death", severity="high", tables=("payouts", "deaths"))
    def paid_after_death(ctx: RuleContext) -> pd.DataFrame:
        ...

and returns the standard findings frame (``onecard.core.findings.FINDINGS_COLUMNS``),
empty when nothing is found. A rule never mutates ``ctx.tables``. Reports,
exports, ``onecard rules`` and the README method table read rule text from
here, so prose never drifts from code.

Rule parameters (the "N" of ``RULES.md``) come from ``parameters/rules.yaml``
(``{RULE_ID: {param: value}}``), overridable per run; yuan amounts, deadlines
and eligibility come from the policy (``onecard.policy``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import pandas as pd

from ..core.errors import ParameterError
from ..core.findings import empty_findings, finalize
from ..core.log import logger

if TYPE_CHECKING:  # the context lives in rules.context, which imports this module
    from .context import RuleContext

__all__ = ["Rule", "rule", "CATALOGUE", "run_catalogue", "catalogue_frame"]


@dataclass(frozen=True)
class Rule:
    """One registered check.

    Attributes
    ----------
    rule_id : str
        Id from ``RULES.md`` (e.g. ``PAID_AFTER_DEATH``).
    clause : str
        Clause of the plan (``FOCUS_PROBLEMS.md``), e.g. ``3.1.3``.
    title_zh, title_en : str
        Titles shown in reports (Chinese) and developer docs (English).
    severity : str
        ``high`` / ``medium`` / ``low``.
    tables : tuple of str
        Canonical tables the rule needs; a missing one makes the rule
        "not checked", never a silent pass.
    params : dict
        Default parameters (overridden by ``parameters/rules.yaml``).
    func : callable
        ``func(ctx) -> DataFrame`` in the standard findings columns.
    description_zh : str
        One sentence on what the rule flags, for the report's method section.
    must_not_flag_zh : str
        What it deliberately does not flag (RULES.md "must NOT flag").
    optional_tables : tuple of str
        Tables read when supplied.
    message : str
        The criterion sentence with ``{param}`` placeholders (e.g.
        ``"…{households}户及以上…"``), rendered with the run's parameter values by
        ``RuleContext.message``; evidence quotes it, so a report can never state a
        threshold other than the one applied.
    """

    rule_id: str
    clause: str
    title_zh: str
    title_en: str
    severity: str
    tables: tuple[str, ...]
    func: Callable[["RuleContext"], pd.DataFrame]
    params: dict = field(default_factory=dict)
    description_zh: str = ""
    must_not_flag_zh: str = ""
    optional_tables: tuple[str, ...] = ()
    message: str = ""

    def render(self, values: dict) -> str:
        """``message`` with its ``{param}`` placeholders filled from ``values``
        (the run's parameters, so the wording follows ``rules.yaml``)."""
        if not self.message:
            return ""
        return self.message.format(**{**self.params, **values})


CATALOGUE: dict[str, Rule] = {}


def rule(rule_id: str, *, clause: str, title_zh: str, title_en: str, severity: str,
         tables: tuple[str, ...], params: dict | None = None, description_zh: str = "",
         must_not_flag_zh: str = "", optional_tables: tuple[str, ...] = (), message: str = ""):
    """Decorator registering a rule function in :data:`CATALOGUE`.

    ``message`` is a template over the rule's ``params`` (``str.format`` names);
    a placeholder that is not a parameter fails at registration.
    """
    if message:
        try:
            message.format(**(params or {}))
        except (KeyError, IndexError) as exc:
            raise ValueError(f"{rule_id}: message placeholder {exc} is not a parameter") from exc

    def register(func):
        if rule_id in CATALOGUE:
            raise ValueError(f"duplicate rule_id {rule_id}")
        CATALOGUE[rule_id] = Rule(rule_id, clause, title_zh, title_en, severity, tuple(tables),
                                  func, dict(params or {}), description_zh, must_not_flag_zh,
                                  tuple(optional_tables), message)
        return func

    return register


def run_catalogue(ctx: "RuleContext", rule_ids: list[str] | None = None, run_id: str = ""):
    """Run every (or the named) rule.

    Returns
    -------
    findings : DataFrame
        All findings in the standard columns, sorted by township, rule, subject.
    status : DataFrame
        One row per rule: ``rule_id, clause, title_zh, checked (bool),
        missing_tables (str, ';'-separated), findings (int), amount_fen (int),
        seconds (float), error (str), criterion (str), unresolved (int)``. A rule
        lacking a table is ``checked=False`` with the table named ("not checked:
        missing X"). A rule that raises is logged, recorded in ``error`` as a
        Chinese sentence naming the rule and, where it can be told, the column
        (:func:`error_text`), and does not stop the others.

    Notes
    -----
    Side results are left on the context: ``ctx.finding_rows`` (``finding_id,
    rule_id, table, _file, _sheet, _row, amount_fen``: the source rows of every
    finding, keyed by the final ``finding_id``), ``ctx.unresolved`` (subjects a
    rule could not clear for a missing column, 未能排除合法情形; see
    ``RuleContext.cannot_clear``) and ``ctx.pending_matches`` (names not resolved,
    待人工确认).
    """
    import time

    from .kit import ROW_COLUMNS, collect_rows, stop_collecting

    _ensure_loaded()
    frames, status, row_frames = [], [], []
    ctx.extras.setdefault("_unresolved", [])
    for rid in rule_ids or list(CATALOGUE):
        r = CATALOGUE[rid]
        missing = [t for t in r.tables if not ctx.has(t)]
        row = {"rule_id": rid, "clause": r.clause, "title_zh": r.title_zh,
               "checked": not missing, "missing_tables": ";".join(missing),
               "findings": 0, "amount_fen": 0, "seconds": 0.0, "error": "",
               "criterion": _criterion(ctx, r), "unresolved": 0}
        if not missing:
            t0 = time.perf_counter()
            bucket, token = collect_rows()
            n_unres = len(ctx.extras["_unresolved"])
            try:
                out = r.func(ctx)
            except Exception as exc:  # one broken rule must not hide the others
                if isinstance(exc, ParameterError):
                    raise
                logger.exception("rule %s failed", rid)
                row["error"] = error_text(ctx, r, exc)
                row["checked"] = False
                out = empty_findings()
                bucket.clear()
            finally:
                stop_collecting(token)
            row["unresolved"] = sum(len(u) for u in ctx.extras["_unresolved"][n_unres:])
            row["seconds"] = round(time.perf_counter() - t0, 3)
            if len(out):
                out = finalize(out.assign(rule_id=rid, clause=r.clause,
                                          severity=out.get("severity", r.severity)), run_id)
                row["findings"] = len(out)
                row["amount_fen"] = int(out["amount_fen"].fillna(0).sum())
                frames.append(out)
                if bucket:
                    row_frames.append(_key_rows(out, bucket, rid))
        status.append(row)
    findings = finalize(pd.concat(frames, ignore_index=True), run_id) if frames else empty_findings()
    findings = findings.sort_values(["township", "rule_id", "subject_id", "subsidy", "period_start"],
                                    na_position="last", kind="stable").reset_index(drop=True)
    cols = ["finding_id", "rule_id"] + ROW_COLUMNS
    fr = pd.concat(row_frames, ignore_index=True) if row_frames else pd.DataFrame(columns=cols)
    ctx.finding_rows = _row_dtypes(fr[cols])
    from .context import unresolved_frame
    ctx.unresolved = unresolved_frame(ctx.extras["_unresolved"])
    _reference_pending(ctx)
    return findings, pd.DataFrame(status)


REFERENCE_TABLES = ("deaths", "moves", "custody", "officials")


def _reference_pending(ctx) -> None:
    """Reference rows without ID that name matching left unresolved (重名 / 未匹配 /
    信息不一致) go to the pending list: the stop rules never act on them."""
    roster = ctx.tables.get("roster")
    if roster is None or not hasattr(ctx, "pending"):
        return
    try:
        from ..intake.names import match_by_name
    except ImportError:  # pragma: no cover - intake is part of the package
        return
    for t in REFERENCE_TABLES:
        ref = ctx.tables.get(t)
        if ref is None or ref.empty or "name" not in ref:
            continue
        no_id = ~(ref["person_id"].astype("string").str.strip().fillna("") != "") if "person_id" in ref \
            else pd.Series(True, index=ref.index)
        if not no_id.any():
            continue
        m = match_by_name(ref[no_id.to_numpy(bool)], roster)
        m = m[m["person_id"].isna()]
        if m.empty:
            continue
        why = m["match_reason"].astype("string").fillna("")
        reason = pd.Series("未匹配", index=m.index, dtype="string")
        reason = reason.mask(known_text(m["candidate_id"]), "信息不一致").mask(why.str.contains("重名"), "重名")
        ctx.pending(pd.DataFrame({
            "table": t, "_file": m.get("_file"), "_sheet": m.get("_sheet"), "_row": m.get("_row"),
            "column": "name", "name": m["name"], "township": m.get("township"),
            "candidates": m["candidate_id"], "reason": reason}))


def known_text(s: pd.Series) -> pd.Series:
    t = s.astype("string").str.strip()
    return (t.notna() & (t != "")).fillna(False).astype(bool)


def _criterion(ctx, r: Rule) -> str:
    try:
        return ctx.message(r.rule_id) if r.message else ""
    except Exception:  # noqa: BLE001 - a bad parameter surfaces in the rule itself
        return ""


def _key_rows(out: pd.DataFrame, bucket: list, rid: str) -> pd.DataFrame:
    """Key a rule's emitted source rows by the final ``finding_id`` (vectorised join on
    ``subject_id`` and, where the rows carry it, ``subsidy``)."""
    rows = pd.concat(bucket, ignore_index=True)
    keys = out[["finding_id", "subject_id", "subsidy"]].copy()
    on = ["subject_id"] + (["subsidy"] if "subsidy" in rows.columns else [])
    for c in on:
        keys[c] = keys[c].astype("string").fillna("")
        rows[c] = rows[c].astype("string").fillna("")
    if "subsidy" not in rows.columns:  # one finding per subject; several subsidies share the rows
        keys = keys.drop_duplicates("subject_id")
    m = rows.merge(keys[["finding_id"] + on], on=on, how="inner")
    m = m.drop_duplicates(["finding_id", "table", "_file", "_sheet", "_row"])
    return m.assign(rule_id=rid)


def _row_dtypes(fr: pd.DataFrame) -> pd.DataFrame:
    fr = fr.reset_index(drop=True)
    for c in ("finding_id", "rule_id", "table", "_file", "_sheet"):
        fr[c] = fr[c].astype("string")
    fr["_row"] = pd.to_numeric(fr["_row"], errors="coerce").astype("Int64")
    fr["amount_fen"] = pd.to_numeric(fr["amount_fen"], errors="coerce").fillna(0).astype("int64")
    return fr


def error_text(ctx, r: Rule, exc: Exception) -> str:
    """The Chinese sentence a report shows for a rule that failed: names the rule and,
    where it can be told from the error, the table column (never a bare exception)."""
    msg = str(exc)
    col = None
    if isinstance(exc, KeyError) and exc.args:
        col = str(exc.args[0])
    else:
        names = []
        for t in r.tables + r.optional_tables:
            if ctx.has(t):
                names += [(t, c) for c in ctx.tables[t].columns if not str(c).startswith("_")]
        hits = [(t, c) for t, c in names if f"'{c}'" in msg or f" {c} " in f" {msg} "
                or f"column {c}" in msg]
        if hits:
            col = f"{hits[0][0]}.{hits[0][1]}"
    head = f"规则 {r.rule_id}（{r.title_zh}）未能完成检查"
    if col:
        return f"{head}：列“{col}”缺失或含有无法识别的值（如空白文本），请核对该列后重新运行。"
    return f"{head}：输入数据中有无法识别的值或缺少所需的列，请核对{('、'.join(r.tables))}表后重新运行。"


def catalogue_frame(params: dict | None = None) -> pd.DataFrame:
    """The catalogue as a frame: ``rule_id, clause, title_zh, title_en, severity, tables,
    description_zh, must_not_flag_zh, criterion_zh`` in clause order.

    ``criterion_zh`` is the rule's ``message`` rendered with ``params``
    (``{rule_id: {param: value}}``, e.g. :func:`onecard.rules.load_rule_params`; default
    the rule defaults), so method sections state the thresholds actually applied.
    """
    _ensure_loaded()
    params = params or {}
    rows = [{"rule_id": r.rule_id, "clause": r.clause, "title_zh": r.title_zh,
             "title_en": r.title_en, "severity": r.severity, "tables": ";".join(r.tables),
             "description_zh": r.description_zh, "must_not_flag_zh": r.must_not_flag_zh,
             "criterion_zh": r.render(params.get(r.rule_id, {}))}
            for r in CATALOGUE.values()]
    return pd.DataFrame(rows).sort_values(["clause", "rule_id"], kind="stable").reset_index(drop=True)


def _ensure_loaded() -> None:
    """Import the rule modules so their decorators register."""
    from . import _modules  # noqa: F401

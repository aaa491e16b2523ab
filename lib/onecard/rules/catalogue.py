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


CATALOGUE: dict[str, Rule] = {}


def rule(rule_id: str, *, clause: str, title_zh: str, title_en: str, severity: str,
         tables: tuple[str, ...], params: dict | None = None, description_zh: str = "",
         must_not_flag_zh: str = "", optional_tables: tuple[str, ...] = ()):
    """Decorator registering a rule function in :data:`CATALOGUE`."""

    def register(func):
        if rule_id in CATALOGUE:
            raise ValueError(f"duplicate rule_id {rule_id}")
        CATALOGUE[rule_id] = Rule(rule_id, clause, title_zh, title_en, severity, tuple(tables),
                                  func, dict(params or {}), description_zh, must_not_flag_zh,
                                  tuple(optional_tables))
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
        seconds (float), error (str)``. A rule lacking a table is
        ``checked=False`` with the table named ("not checked: missing X").
        A rule that raises is logged, recorded in ``error`` and does not stop
        the others.
    """
    import time

    _ensure_loaded()
    frames, status = [], []
    for rid in rule_ids or list(CATALOGUE):
        r = CATALOGUE[rid]
        missing = [t for t in r.tables if not ctx.has(t)]
        row = {"rule_id": rid, "clause": r.clause, "title_zh": r.title_zh,
               "checked": not missing, "missing_tables": ";".join(missing),
               "findings": 0, "amount_fen": 0, "seconds": 0.0, "error": ""}
        if not missing:
            t0 = time.perf_counter()
            try:
                out = r.func(ctx)
            except Exception as exc:  # one broken rule must not hide the others
                if isinstance(exc, ParameterError):
                    raise
                logger.exception("rule %s failed", rid)
                row["error"] = f"{type(exc).__name__}: {exc}"
                row["checked"] = False
                out = empty_findings()
            row["seconds"] = round(time.perf_counter() - t0, 3)
            if len(out):
                out = finalize(out.assign(rule_id=rid, clause=r.clause,
                                          severity=out.get("severity", r.severity)), run_id)
                row["findings"] = len(out)
                row["amount_fen"] = int(out["amount_fen"].fillna(0).sum())
                frames.append(out)
        status.append(row)
    findings = finalize(pd.concat(frames, ignore_index=True), run_id) if frames else empty_findings()
    findings = findings.sort_values(["township", "rule_id", "subject_id", "subsidy", "period_start"],
                                    na_position="last", kind="stable").reset_index(drop=True)
    return findings, pd.DataFrame(status)


def catalogue_frame() -> pd.DataFrame:
    """The catalogue as a frame: ``rule_id, clause, title_zh, title_en, severity, tables,
    description_zh, must_not_flag_zh`` in clause order."""
    _ensure_loaded()
    rows = [{"rule_id": r.rule_id, "clause": r.clause, "title_zh": r.title_zh,
             "title_en": r.title_en, "severity": r.severity, "tables": ";".join(r.tables),
             "description_zh": r.description_zh, "must_not_flag_zh": r.must_not_flag_zh}
            for r in CATALOGUE.values()]
    return pd.DataFrame(rows).sort_values(["clause", "rule_id"], kind="stable").reset_index(drop=True)


def _ensure_loaded() -> None:
    """Import the rule modules so their decorators register."""
    from . import _modules  # noqa: F401

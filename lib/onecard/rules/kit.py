"""Helpers shared by the rule modules: month merging, citations, wording.

Rules build a *month-level* frame of flagged rows (``person_id``, ``subsidy``,
``period``, ``amount_fen`` ...) and call :func:`per_subject` to merge the months
of one subject x subsidy into one finding with ``period_start``/``period_end``/
``months`` and the source rows cited.
"""

from __future__ import annotations

import contextvars

import numpy as np
import pandas as pd

from ..core.findings import FINDINGS_COLUMNS, empty_findings, yuan

__all__ = ["per_subject", "citations", "ym", "yuan_text", "span_text", "empty_findings",
           "paid_rows", "period_rows", "in_period", "GRADE_ZH", "CATEGORY_ZH", "known", "is_known",
           "known_equal", "known_ne", "key_merge", "supplied", "source_rows", "emit_rows", "finish",
           "ROW_COLUMNS"]

GRADE_ZH = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
CATEGORY_ZH = {1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重"}


def ym(p) -> str:
    """``YYYY-MM`` for a Period (empty for NA)."""
    return "" if p is None or pd.isna(p) else p.strftime("%Y-%m")


def yuan_text(fen) -> str:
    """``800.00元`` from fen."""
    return f"{yuan(int(fen))}元"


def span_text(start, end, months) -> str:
    """``2020-08至2021-03共8个月`` or ``2021-03共1个月``."""
    s, e = ym(start), ym(end)
    return f"{s}共{months}个月" if s == e else f"{s}至{e}共{months}个月"


def _in_period_mask(frame: pd.DataFrame, ctx, col: str = "period") -> np.ndarray:
    lo, hi = ctx.period
    o = frame[col].array.asi8
    return (o >= lo.ordinal) & (o <= hi.ordinal)


def in_period(frame: pd.DataFrame, ctx, col: str = "period") -> pd.DataFrame:
    """Rows whose ``col`` month is inside the review period."""
    if isinstance(frame[col].dtype, pd.PeriodDtype):
        return frame[_in_period_mask(frame, ctx, col)]
    lo, hi = ctx.period
    per = frame[col]
    return frame[((per >= lo) & (per <= hi)).fillna(False).to_numpy(bool)]


def period_rows(ctx) -> pd.DataFrame:
    """All prepared payout rows (any status) for periods inside the review period (cached)."""
    if "_period_rows" not in ctx.extras:
        ctx.extras["_period_rows"] = in_period(ctx.payouts, ctx)
    return ctx.extras["_period_rows"]


def paid_rows(ctx, listed_only: bool = True) -> pd.DataFrame:
    """Successful payout rows (``ok``) for periods inside the review period.

    Cached in ``ctx.extras`` (like ``ctx.payouts``): rules must not modify it.
    """
    cache = ctx.extras.setdefault("_paid_rows", {})
    if listed_only not in cache:
        p = ctx.payouts
        m = p["ok"].to_numpy(bool) & p["person_id"].notna().to_numpy(bool)
        if listed_only:
            m &= p["listed"].to_numpy(bool)
        cache[listed_only] = p[m & _in_period_mask(p, ctx)]
    return cache[listed_only]


def citations(keys: pd.DataFrame, rows: pd.DataFrame, on: list[str], group: list[str],
              limit: int = 3, table: str = "payouts") -> pd.DataFrame:
    """Citation text per group: ``（来源：file/sheet 第N行；… 等M行）``.

    Parameters
    ----------
    keys : DataFrame
        Flagged keys (columns ``on`` plus ``group``).
    rows : DataFrame
        Source rows with ``on`` columns and ``_file``, ``_sheet``, ``_row``.
    table : str
        Canonical table of ``rows``, recorded in the finding rows.

    Returns ``group`` columns plus ``cite`` (string). Vectorised. Keys with a
    missing value never match a row. As a side effect the cited rows are handed
    to the running catalogue as the findings' source rows (:func:`source_rows`;
    ``keys.amount_fen``, when present, is the money claimed per key).
    """
    if rows.empty or "_file" not in rows:
        return keys[group].drop_duplicates().assign(cite="")
    if _ROWS.get() is not None:
        emit_rows(source_rows(keys, rows, on, group, table=table))
    src = rows[on + ["_file", "_sheet", "_row"]]
    src = src[src[on[0]].isin(keys[on[0]].dropna().unique()).to_numpy(bool)]
    m = key_merge(keys[list(dict.fromkeys(on + group))].drop_duplicates(), src, on=on, how="inner")
    m = m.drop_duplicates(group + ["_file", "_sheet", "_row"])
    m = m.sort_values(group + ["_file", "_sheet", "_row"], kind="stable")
    m["_k"] = m.groupby(group, sort=False).cumcount()
    n = m.groupby(group, sort=False).size().rename("_n").reset_index()
    head = m[m["_k"] < limit]
    sheet = head["_sheet"].astype("string").fillna("")
    part = (head["_file"].astype("string").fillna("") + sheet.mask(sheet != "", "/" + sheet)
            + " 第" + head["_row"].astype("string").fillna("?") + "行")
    gk = head[group[0]].astype("string").fillna("")
    for g in group[1:]:
        gk = gk + "\x1f" + head[g].astype("string").fillna("")
    jp = join_groups(gk.to_numpy(), part.to_numpy(), "；")
    joined = head[group].assign(_gk=gk.to_numpy()).drop_duplicates("_gk")
    joined = joined.assign(_p=joined["_gk"].map(jp).to_numpy()).drop(columns="_gk")
    out = joined.merge(n, on=group, how="left")
    more = np.where(out["_n"] > limit, " 等" + out["_n"].astype(str) + "行", "")
    out["cite"] = "（来源：" + out["_p"] + more + "）"
    return out[group + ["cite"]]


def per_subject(months: pd.DataFrame, subject: str = "person_id", subsidy: bool = True,
                amount: str = "amount_fen", first: tuple[str, ...] = ("name", "township", "village"),
                extra: dict | None = None) -> pd.DataFrame:
    """Merge month-level rows into one row per subject (x subsidy).

    Parameters
    ----------
    months : DataFrame
        One row per flagged month: ``subject``, ``period`` (period[M]),
        ``amount`` (fen), optionally ``subsidy`` and the ``first`` columns.
    extra : dict, optional
        ``{out_col: (col, aggfunc)}`` further aggregations.

    Returns
    -------
    DataFrame with ``subject_id``, ``subsidy``, ``period_start``/``period_end``
    (Period), ``months``, ``amount_fen`` (int fen), the ``first`` columns and
    ``extra`` columns.
    """
    group = [subject] + (["subsidy"] if subsidy else [])
    aggs = {"period_start": ("period", "min"), "period_end": ("period", "max"),
            "months": ("period", "nunique"), "amount_fen": (amount, "sum")}
    for c in first:
        if c in months:
            aggs[c] = (c, "first")
    aggs.update(extra or {})
    out = months.groupby(group, sort=True, dropna=False).agg(**aggs).reset_index()
    out = out.rename(columns={subject: "subject_id"})
    if not subsidy:
        out["subsidy"] = pd.NA
    return out


def finish(out: pd.DataFrame, subject_type: str, evidence: pd.Series,
           rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Final columns: text periods, evidence, subject type; standard columns only.

    ``rows`` (``subject_id`` [, ``subsidy``] + :data:`ROW_COLUMNS`), when given, are
    the findings' source rows (rows already emitted by :func:`citations` need not
    be passed again).
    """
    if out.empty:
        return empty_findings()
    emit_rows(rows)
    res = out.copy()
    res["subject_type"] = subject_type
    res["evidence"] = evidence.to_numpy()
    for c in ("period_start", "period_end"):
        if c in res and isinstance(res[c].dtype, pd.PeriodDtype):
            res[c] = res[c].dt.strftime("%Y-%m")
    return res[[c for c in FINDINGS_COLUMNS if c in res.columns]]


def join_groups(keys, values, sep: str = ";") -> pd.Series:
    """``sep``-joined ``values`` per key, in the given order (vectorised grouping; one
    ``str.join`` per key instead of pandas' per-group slicing). Index: the keys, sorted."""
    k = pd.Series(keys).astype("string").to_numpy(object)
    v = pd.Series(values).astype("string").fillna("").to_numpy(object)
    if len(k) == 0:
        return pd.Series(dtype="string")
    order = np.argsort(k, kind="stable")
    k, v = k[order], v[order].tolist()
    starts = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    ends = np.append(starts[1:], len(k))
    return pd.Series([sep.join(v[a:b]) for a, b in zip(starts, ends)], index=k[starts], dtype="string")


# -- missing-value semantics ----------------------------------------------------
#
# A comparison that involves a missing value is *unknown*: never a match, never a
# finding. pandas' nullable booleans propagate NA through ``==``/``&`` and
# ``Series.mask``/``where`` treat an NA condition as True, so every rule turns its
# conditions into plain numpy bools with :func:`known` -- the one documented place
# where NA becomes False.

def known(cond) -> np.ndarray:
    """Plain numpy bool array from a condition; NA (unknown) becomes ``False``.

    Parameters
    ----------
    cond : Series, array, list or scalar bool (nullable ``boolean`` allowed)

    Returns
    -------
    numpy.ndarray of bool, positional (the index is dropped).
    """
    if isinstance(cond, np.ndarray) and cond.dtype == bool:
        return cond
    if isinstance(cond, (pd.Series, pd.Index)):
        cond = cond.array
    arr = pd.array(cond, dtype="boolean") if not np.isscalar(cond) else pd.array([cond], dtype="boolean")
    return arr.fillna(False).to_numpy(dtype=bool)


def _as_text(values) -> pd.Series:
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    s = s.astype("string").str.strip()
    return s.mask(s == "")


def is_known(values) -> np.ndarray:
    """Bool per value: present (not NA and not blank text)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values)
    if not (s.dtype == object or isinstance(s.dtype, pd.StringDtype)):
        return s.notna().to_numpy(bool)
    return _as_text(s).notna().to_numpy(bool)


def known_equal(a, b) -> np.ndarray:
    """Bool per position: both values present and equal (as stripped text).

    A missing or blank value on either side is unknown, so ``False``: two
    unresolved approvers never "equal" each other or the beneficiary.
    """
    x, y = _as_text(a), _as_text(b)
    both = x.notna().to_numpy(bool) & y.notna().to_numpy(bool)
    return both & (x.fillna("").to_numpy(object) == y.fillna("").to_numpy(object))


def known_ne(a, b) -> np.ndarray:
    """Bool per position: both values present and different (as stripped text)."""
    x, y = _as_text(a), _as_text(b)
    both = x.notna().to_numpy(bool) & y.notna().to_numpy(bool)
    return both & (x.fillna("").to_numpy(object) != y.fillna("").to_numpy(object))


def key_merge(left: pd.DataFrame, right: pd.DataFrame, on: list[str] | str, **kw) -> pd.DataFrame:
    """``left.merge(right, on=on)`` after dropping rows with a missing or blank key on
    either side (pandas would match NA to NA: five people without an ID are not one)."""
    on = [on] if isinstance(on, str) else list(on)
    lk = np.logical_and.reduce([is_known(left[c]) for c in on]) if len(left) else np.zeros(0, bool)
    rk = np.logical_and.reduce([is_known(right[c]) for c in on]) if len(right) else np.zeros(0, bool)
    return left[lk].merge(right[rk], on=on, **kw)


def supplied(frame: pd.DataFrame | None, column: str) -> bool:
    """A column is *supplied* when present and not entirely blank (``DATA_CONTRACT.md``).

    A blank cell in a supplied column means "none"; an absent or all-blank column
    means "not supplied" (a rule that needs it to clear a legitimate exception
    lists the subjects as 未能排除合法情形 instead of flagging them).
    """
    return frame is not None and column in frame.columns and bool(is_known(frame[column]).any())


# -- source rows of findings ----------------------------------------------------

_ROWS: contextvars.ContextVar = contextvars.ContextVar("onecard_finding_rows", default=None)
ROW_COLUMNS = ["table", "_file", "_sheet", "_row", "amount_fen"]


def collect_rows():
    """Start collecting finding rows (used by ``run_catalogue``); returns ``(list, token)``."""
    bucket: list = []
    return bucket, _ROWS.set(bucket)


def stop_collecting(token) -> None:
    _ROWS.reset(token)


def emit_rows(rows: pd.DataFrame | None) -> None:
    """Hand a rule's finding rows (``subject_id[, subsidy]`` + :data:`ROW_COLUMNS`) to the
    running catalogue; a no-op when a rule is called on its own."""
    bucket = _ROWS.get()
    if bucket is not None and rows is not None and len(rows):
        bucket.append(rows)


def source_rows(months: pd.DataFrame, rows: pd.DataFrame, on: list[str], group: list[str],
                table: str = "payouts", claim: str = "amount_fen", weight: str = "amount") -> pd.DataFrame:
    """The source rows a finding rests on, with the money each contributes.

    Parameters
    ----------
    months : DataFrame
        Flagged keys: ``on`` and ``group`` columns and ``claim`` (fen the finding
        claims for that key, e.g. a month's paid amount or shortfall).
    rows : DataFrame
        Source rows with the ``on`` columns, ``_file``, ``_sheet``, ``_row`` and
        optionally ``weight`` (a row's own amount, fen).
    on, group : list of str
        Join keys and the finding key (``subject_id`` [, ``subsidy``]).

    Returns
    -------
    DataFrame
        ``group`` + ``table, _file, _sheet, _row, amount_fen``, one row per finding
        x source row. Each key's claim is split over its rows in proportion to
        ``|weight|`` (equally when all are zero or missing), in whole fen, the
        remainder on the first row, so per finding the rows add up to its amount.
        Vectorised.
    """
    if rows is None or rows.empty or "_row" not in rows or months.empty:
        return pd.DataFrame(columns=group + ROW_COLUMNS)
    cols = list(dict.fromkeys(on + group))
    keys = months[cols].assign(_claim=pd.to_numeric(months[claim], errors="coerce").fillna(0)
                               .astype("int64").to_numpy() if claim in months else 0)
    keys = keys.groupby(cols, sort=False, dropna=False)["_claim"].sum().reset_index()
    src = rows[[c for c in dict.fromkeys(on + ["_file", "_sheet", "_row"])]].copy()
    src["_w"] = (pd.to_numeric(rows[weight], errors="coerce").abs().fillna(0).astype("float64").to_numpy()
                 if weight in rows else 0.0)
    m = key_merge(keys, src, on=on, how="inner")
    if m.empty:
        return pd.DataFrame(columns=group + ROW_COLUMNS)
    g = m.groupby(cols, sort=False, dropna=False)
    tot = g["_w"].transform("sum").to_numpy()
    cnt = g["_w"].transform("size").to_numpy()
    w = np.where(tot > 0, m["_w"].to_numpy() / np.where(tot > 0, tot, 1), 1.0 / cnt)
    share = np.floor(m["_claim"].to_numpy() * w).astype("int64")
    m["_s"] = share
    rest = m["_claim"].to_numpy() - g["_s"].transform("sum").to_numpy()
    first = g.cumcount().to_numpy() == 0
    m["amount_fen"] = share + np.where(first, rest, 0)
    out = m.groupby(group + ["_file", "_sheet", "_row"], sort=False, dropna=False)["amount_fen"].sum().reset_index()
    out.insert(len(group), "table", table)
    return out[group + ROW_COLUMNS]


def mode_per(frame: pd.DataFrame, by: str, col: str) -> pd.Series:
    """Most frequent non-missing ``col`` per ``by`` (ties: the smallest value). Vectorised."""
    v = frame[[by, col]].dropna()
    if v.empty:
        return pd.Series(dtype="string")
    n = v.groupby([by, col], sort=True).size().rename("_n").reset_index()
    n = n.sort_values([by, "_n", col], ascending=[True, False, True], kind="stable")
    return n.drop_duplicates(by).set_index(by)[col]


def join_unique(frame: pd.DataFrame, by: str, col: str, sep: str = ";") -> pd.Series:
    """Sorted distinct non-missing ``col`` values per ``by``, joined by ``sep``."""
    v = frame[[by, col]].dropna().astype({col: "string"}).drop_duplicates()
    v = v[v[col] != ""].sort_values([by, col], kind="stable")
    return join_groups(v[by].to_numpy(), v[col].to_numpy(), sep)


def group_findings(rows: pd.DataFrame, subject: str, related: str | None = None,
                   amount: str | None = "amount", month: str = "month",
                   cite_rows: pd.DataFrame | None = None, table: str = "payouts",
                   claim_rows: pd.DataFrame | None = None, split_subsidy: bool = False) -> pd.DataFrame:
    """One finding row per distinct ``subject`` of payout-like ``rows`` (vectorised).

    Parameters
    ----------
    rows : DataFrame
        Rows the findings rest on (``subject`` column, ``month`` period[M],
        ``amount`` fen, ``township``, ``village``, provenance).
    related : str, optional
        Column whose distinct values become ``related_ids`` (``;``-joined, sorted).
    amount : str or None
        Column summed into ``amount_fen`` (None: 0).
    cite_rows : DataFrame, optional
        Further rows cited (e.g. card registry rows); needs ``subject`` and
        provenance columns; recorded with amount 0 under their own ``table``
        (column ``_table``, default ``table``).
    claim_rows : DataFrame, optional
        The rows whose ``amount`` is the finding's money, when only part of
        ``rows`` is claimed (e.g. money collected *for others*); default ``rows``.
    split_subsidy : bool
        ``subject`` holds ``subject_id + "\\x1f" + subsidy`` (one finding per subject
        x subsidy); the output and the emitted rows get both columns back.

    Returns
    -------
    DataFrame
        ``subject_id, related_ids, township, village, period_start, period_end``
        (``YYYY-MM`` text), ``months``, ``amount_fen``, ``cite``; the source rows
        are emitted to the running catalogue.
    """
    if rows.empty and (cite_rows is None or cite_rows.empty):
        return pd.DataFrame(columns=["subject_id", "related_ids", "township", "village", "period_start",
                                     "period_end", "months", "amount_fen", "cite"])
    subjects = pd.Index(pd.concat([rows[subject], cite_rows[subject] if cite_rows is not None else
                                   pd.Series(dtype="string")]).dropna().astype("string").unique())
    r = rows.assign(_s=rows[subject].astype("string"))
    out = pd.DataFrame(index=subjects.sort_values())
    mon = r[month] if month in r else pd.Series(pd.NaT, index=r.index, dtype="period[M]")
    r = r.assign(_m=mon)
    mm = r.dropna(subset=["_m"])
    mo = pd.Series(pd.PeriodIndex(mm["_m"], freq="M").asi8 if len(mm) else np.zeros(0, "int64"),
                   index=mm.index)
    gm = mo.groupby(mm["_s"].to_numpy())
    for c, f in (("period_start", "min"), ("period_end", "max")):
        o = getattr(gm, f)().reindex(out.index)
        txt = pd.Series(pd.PeriodIndex.from_ordinals(o.fillna(0).astype("int64").to_numpy(), freq="M")
                        .strftime("%Y-%m"), index=out.index, dtype="string")
        out[c] = txt.where(o.notna().to_numpy())
    out["months"] = gm.nunique().reindex(out.index).fillna(0).astype("int64")
    claim = r if claim_rows is None else claim_rows.assign(_s=claim_rows[subject].astype("string"))
    if amount:
        claim = claim.assign(_a=pd.to_numeric(claim[amount], errors="coerce").fillna(0).astype("int64"))
        out["amount_fen"] = claim.groupby("_s")["_a"].sum().reindex(out.index).fillna(0).astype("int64")
    else:
        claim = claim.assign(_a=0)
        out["amount_fen"] = 0
    for c in ("township", "village"):
        out[c] = mode_per(r.assign(**{c: r[c].astype("string") if c in r else pd.NA}), "_s", c).reindex(out.index)
    out["related_ids"] = (join_unique(r, "_s", related).reindex(out.index).fillna("")
                          if related else "")
    # source rows: the claimed money per row, other rows with 0, cited rows with 0
    prov = ["_file", "_sheet", "_row"]
    parts = []
    if "_row" in claim:
        parts.append(claim[["_s"] + prov].assign(table=table, amount_fen=claim["_a"].to_numpy()))
    if "_row" in r:
        parts.append(r[["_s"] + prov].assign(table=table, amount_fen=0))
    if cite_rows is not None and len(cite_rows) and "_row" in cite_rows:
        t = cite_rows["_table"] if "_table" in cite_rows else table
        parts.append(cite_rows[prov].assign(_s=cite_rows[subject].astype("string"), table=t, amount_fen=0))
    if parts:
        fr = pd.concat(parts, ignore_index=True)
        fr = fr.groupby(["_s", "table"] + prov, sort=False, dropna=False)["amount_fen"].sum().reset_index()
        fr = fr[fr["_s"].isin(out.index)]
        cit = fr.drop_duplicates(["_s"] + prov)
        cit = cit.sort_values(["_s", "_file", "_sheet", "_row"], kind="stable")
        k = cit.groupby("_s", sort=False).cumcount()
        n = cit.groupby("_s", sort=False).size()
        head = cit[(k < 3).to_numpy()]
        sheet = head["_sheet"].astype("string").fillna("")
        part = (head["_file"].astype("string").fillna("") + sheet.mask(sheet != "", "/" + sheet)
                + " 第" + head["_row"].astype("string").fillna("?") + "行")
        joined = join_groups(head["_s"].to_numpy(), part.to_numpy(), "；")
        nn = n.reindex(joined.index)
        more = pd.Series(np.where(nn > 3, " 等" + nn.astype(str) + "行", ""), index=joined.index)
        out["cite"] = ("（来源：" + joined + more + "）").reindex(out.index).fillna("")
        fr = fr.rename(columns={"_s": "subject_id"})
        if split_subsidy:
            parts = fr["subject_id"].str.split("\x1f", n=1, expand=True)
            fr = fr.assign(subject_id=parts[0], subsidy=parts[1])
            emit_rows(fr[["subject_id", "subsidy"] + ROW_COLUMNS])
        else:
            emit_rows(fr[["subject_id"] + ROW_COLUMNS])
    else:
        out["cite"] = ""
    out = out.rename_axis("subject_id").reset_index()
    if split_subsidy:
        parts = out["subject_id"].astype("string").str.split("\x1f", n=1, expand=True)
        out["subject_id"], out["subsidy"] = parts[0], parts[1]
    return out


# -- name resolution (approvers, handlers, reference rows without ID) -----------

_ID_RE = r"^\d{17}[\dX]$"


def looks_like_id(values: pd.Series) -> np.ndarray:
    """Bool per value: an 18-character resident ID (``X`` check digit in either case)."""
    s = values.astype("string").str.strip().str.upper()
    return known(s.str.match(_ID_RE))


def resolve_names(refs: pd.DataFrame, people: pd.DataFrame,
                  confirmed: pd.DataFrame | None = None) -> pd.DataFrame:
    """Resolve names to person ids only when that cannot accuse the wrong person.

    Parameters
    ----------
    refs : DataFrame
        One row per name to resolve: ``name``, ``township`` (may be NA: then the
        whole district is the pool), optionally ``fragment`` (digits known of the
        person's ID, e.g. a birth date ``19600305`` or the last four digits).
    people : DataFrame
        Candidates: ``person_id``, ``name``, ``township`` (NA: any township).
    confirmed : DataFrame, optional
        Investigator confirmations (``name``, ``township``, ``person_id``; see
        ``onecard.rules.confirm``); a confirmed name resolves to that id.

    Returns
    -------
    DataFrame, same index as ``refs``: ``person_id`` (string, NA when not
    resolved), ``candidates`` (``;``-joined full ids), ``reason`` (NA when resolved
    uniquely, else ``重名`` / ``未匹配`` / ``信息不一致``), ``confirmed`` (bool).

    Notes
    -----
    Names are compared on ``onecard.intake.names.name_key`` (spaces and minority
    middle dots folded). A name resolves when exactly one candidate of the
    township carries it and that candidate agrees with the fragment (if any).
    Vectorised: one merge on the name key.
    """
    from ..intake.names import name_key

    n = len(refs)
    out = pd.DataFrame({"person_id": pd.array([pd.NA] * n, dtype="string"),
                        "candidates": pd.array([pd.NA] * n, dtype="string"),
                        "reason": pd.array(["未匹配"] * n, dtype="string"),
                        "confirmed": np.zeros(n, dtype=bool)}, index=refs.index)
    if n == 0:
        return out

    def keys(s: pd.Series) -> pd.Series:
        s = s.astype("string")
        u = pd.Series(s.dropna().unique())
        m = dict(zip(u, u.map(name_key)))
        k = s.map(m).astype("string")
        return k.mask(k == "")

    r = pd.DataFrame({"_i": np.arange(n), "key": keys(refs["name"]).to_numpy(),
                      "town": refs["township"].astype("string").to_numpy() if "township" in refs
                      else pd.array([pd.NA] * n, dtype="string"),
                      "frag": (refs["fragment"].astype("string").str.replace(r"\D", "", regex=True)
                               .to_numpy() if "fragment" in refs else pd.array([pd.NA] * n, dtype="string"))})
    r["frag"] = r["frag"].mask(r["frag"].fillna("").str.len() < 4)
    if confirmed is not None and len(confirmed):
        c = pd.DataFrame({"key": keys(confirmed["name"]).to_numpy(),
                          "town": confirmed["township"].astype("string").to_numpy() if "township" in confirmed
                          else pd.NA, "cid": confirmed["person_id"].astype("string").to_numpy()})
        c = c.dropna(subset=["key"]).drop_duplicates(["key", "town"], keep="last")
        exact = r.merge(c.dropna(subset=["town"]), on=["key", "town"], how="inner")
        anyt = r.merge(c[c["town"].isna()].drop(columns="town"), on="key", how="inner")
        hit = pd.concat([exact, anyt]).drop_duplicates("_i")
        pos = hit["_i"].to_numpy()
        out.iloc[pos, out.columns.get_loc("person_id")] = hit["cid"].to_numpy()
        out.iloc[pos, out.columns.get_loc("reason")] = pd.NA
        out.iloc[pos, out.columns.get_loc("confirmed")] = True
        r = r[~r["_i"].isin(pos)]
    p = pd.DataFrame({"pid": people["person_id"].astype("string").to_numpy(),
                      "key": keys(people["name"]).to_numpy(),
                      "ptown": people["township"].astype("string").to_numpy() if "township" in people
                      else pd.NA}).dropna(subset=["pid", "key"]).drop_duplicates(["pid", "key", "ptown"])
    m = key_merge(r, p, on="key", how="inner")
    same = m["town"].isna().to_numpy() | m["ptown"].isna().to_numpy() | known_equal(m["town"], m["ptown"])
    m = m[same].drop_duplicates(["_i", "pid"])
    if m.empty:
        return out
    fr = m["frag"].fillna("")
    ok = (fr == "").to_numpy() | np.array([f in p_ for f, p_ in zip(fr, m["pid"].fillna(""))], dtype=bool)
    allc = m.sort_values(["_i", "pid"]).groupby("_i")["pid"].agg(";".join)
    good = m[ok]
    cnt = good.groupby("_i")["pid"].size()
    gi = good.sort_values(["_i", "pid"]).groupby("_i")["pid"].agg(";".join)
    pos_all = allc.index.to_numpy()
    out.iloc[pos_all, out.columns.get_loc("candidates")] = allc.to_numpy()
    out.iloc[pos_all, out.columns.get_loc("reason")] = "信息不一致"
    multi = cnt[cnt > 1].index.to_numpy()
    out.iloc[multi, out.columns.get_loc("reason")] = "重名"
    out.iloc[multi, out.columns.get_loc("candidates")] = gi.reindex(multi).to_numpy()
    one = cnt[cnt == 1].index.to_numpy()
    out.iloc[one, out.columns.get_loc("person_id")] = gi.reindex(one).to_numpy()
    out.iloc[one, out.columns.get_loc("reason")] = pd.NA
    out.iloc[one, out.columns.get_loc("candidates")] = gi.reindex(one).to_numpy()
    return out

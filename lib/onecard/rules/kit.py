"""Helpers shared by the rule modules: month merging, citations, wording.

Rules build a *month-level* frame of flagged rows (``person_id``, ``subsidy``,
``period``, ``amount_fen`` ...) and call :func:`per_subject` to merge the months
of one subject x subsidy into one finding with ``period_start``/``period_end``/
``months`` and the source rows cited.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.findings import FINDINGS_COLUMNS, empty_findings, yuan

__all__ = ["per_subject", "citations", "ym", "yuan_text", "span_text", "empty_findings",
           "paid_rows", "period_rows", "in_period", "GRADE_ZH", "CATEGORY_ZH"]

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
              limit: int = 3) -> pd.DataFrame:
    """Citation text per group: ``（来源：file/sheet 第N行；… 等M行）``.

    Parameters
    ----------
    keys : DataFrame
        Flagged keys (columns ``on`` plus ``group``).
    rows : DataFrame
        Source rows with ``on`` columns and ``_file``, ``_sheet``, ``_row``.
    Returns ``group`` columns plus ``cite`` (string). Vectorised.
    """
    if rows.empty or "_file" not in rows:
        return keys[group].drop_duplicates().assign(cite="")
    src = rows[on + ["_file", "_sheet", "_row"]]
    src = src[src[on[0]].isin(keys[on[0]].dropna().unique()).to_numpy(bool)]
    m = keys[list(dict.fromkeys(on + group))].drop_duplicates().merge(src, on=on, how="inner")
    m = m.drop_duplicates(group + ["_file", "_sheet", "_row"])
    m = m.sort_values(group + ["_file", "_sheet", "_row"], kind="stable")
    m["_k"] = m.groupby(group, sort=False).cumcount()
    n = m.groupby(group, sort=False).size().rename("_n").reset_index()
    head = m[m["_k"] < limit]
    sheet = head["_sheet"].astype("string").fillna("")
    part = (head["_file"].astype("string").fillna("") + sheet.mask(sheet != "", "/" + sheet)
            + " 第" + head["_row"].astype("string").fillna("?") + "行")
    joined = part.groupby([head[g] for g in group], sort=False).agg("；".join).rename("_p").reset_index()
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


def finish(out: pd.DataFrame, subject_type: str, evidence: pd.Series) -> pd.DataFrame:
    """Final columns: text periods, evidence, subject type; standard columns only."""
    if out.empty:
        return empty_findings()
    res = out.copy()
    res["subject_type"] = subject_type
    res["evidence"] = evidence.to_numpy()
    for c in ("period_start", "period_end"):
        if c in res and isinstance(res[c].dtype, pd.PeriodDtype):
            res[c] = res[c].dt.strftime("%Y-%m")
    return res[[c for c in FINDINGS_COLUMNS if c in res.columns]]

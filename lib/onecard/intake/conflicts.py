"""Conflicting duplicates: rows that share a key but disagree, counted and listed, never resolved.

A person with two roster rows (grade 3 certificate of 2015, grade 1 of 2020), a card
with two holders, two entitlement rows of one person and subsidy whose month ranges
overlap: intake keeps every row and lists the conflict; which row applies when is
decided downstream (each certificate or entitlement row from its own issue or
approval date on), so no finding depends on row order. Rows identical in every
canonical column are exact duplicates, not conflicts (they stay as they are).

A column differs when the rows hold two or more distinct *non-missing* values: a
blank in one row and a value in the other is "not supplied", not a disagreement.
An entitlement-like history of consecutive rows (a rate change opens a new row whose
months do not overlap the old one) is one entitlement, not a conflict.

Source: issue 9 §3 (intake part); DATA_CONTRACT.md (Tables).
"""

from __future__ import annotations

import pandas as pd

from ..core import tables as table_schema

__all__ = ["CONFLICT_KEYS", "OVERLAP_TABLES", "CONFLICT_COLUMNS", "find_conflicts"]

#: Table -> key columns whose rows must agree.
CONFLICT_KEYS: dict[str, list[str]] = {
    "roster": ["person_id"],
    "cards": ["account_no"],
    "entitlements": ["person_id", "subsidy"],
    "dibao": ["person_id", "program"],
    "other_benefits": ["person_id", "program"],
}
#: Tables whose rows of one key conflict only when their month ranges overlap.
OVERLAP_TABLES = {"entitlements": ("start_month", "end_month"), "dibao": ("start_month", "end_month"),
                  "other_benefits": ("start_month", "end_month")}
#: Columns of ``conflicts.csv`` (one line per row involved).
CONFLICT_COLUMNS = ["table", "key", "n_rows", "columns", "file", "sheet", "row"]


def _ordinal(col: pd.Series, fill: float) -> pd.Series:
    """Month ordinals as floats (``fill`` where missing)."""
    arr = pd.array(col, dtype="period[M]") if not isinstance(col.dtype, pd.PeriodDtype) else col.array
    return pd.Series(arr.asi8, index=col.index, dtype="float64").where(~pd.isna(arr), fill)


def _overlapping(df: pd.DataFrame, key: list[str], start: str, end: str) -> pd.Series:
    """Rows whose [start, end] month range overlaps another row of the same key.

    Missing start is the open past, missing end the open future. Vectorised: sorted by
    start within the key, a row overlaps when its start is not after the running maximum
    end of the rows before it; every row of such a run (from the row that opened it) is
    in conflict.
    """
    work = pd.DataFrame({"s": _ordinal(df[start], -1e12), "e": _ordinal(df[end], 1e12),
                         "g": df.groupby(key, sort=False, dropna=False).ngroup()}, index=df.index)
    work = work.sort_values(["g", "s", "e"])
    prev_max_end = work.groupby("g")["e"].cummax().groupby(work["g"]).shift()
    hit = work["s"] <= prev_max_end
    run = (~hit).cumsum()
    return hit.groupby(run).transform("any").reindex(df.index).astype(bool)


def find_conflicts(table: str, df: pd.DataFrame) -> list[dict]:
    """Keys of ``df`` with rows that disagree.

    Parameters
    ----------
    table : str
        A canonical table name; only tables in :data:`CONFLICT_KEYS` are checked.
    df : pd.DataFrame
        The canonical table (with ``_file``, ``_sheet``, ``_row``).

    Returns
    -------
    list of dict
        One per conflicting key: ``table``, ``key`` ({column: value}), ``n_rows``,
        ``columns`` (canonical columns with two or more distinct non-missing values,
        sorted), ``rows`` ([{file, sheet, row}] in source order). Rows with a
        missing key value are never grouped. For the month-range tables only the
        rows whose ranges overlap are compared and listed.
    """
    key = CONFLICT_KEYS.get(table)
    if not key or not len(df) or not all(k in df.columns for k in key):
        return []
    cols = [c for c in table_schema.columns(table) if c in df.columns and c not in key]
    d = df[df[key].notna().all(axis=1)]
    d = d[d.duplicated(key, keep=False)]
    if table in OVERLAP_TABLES and len(d):
        start, end = OVERLAP_TABLES[table]
        if start in d.columns and end in d.columns:
            d = d[_overlapping(d, key, start, end).to_numpy()]
    if d.empty:
        return []
    keys = [d[k].astype("string").rename(f"__k{i}") for i, k in enumerate(key)]
    differing = d[cols].astype("string").groupby(keys, sort=True).nunique(dropna=True).gt(1)
    differing = differing[differing.any(axis=1)]
    if differing.empty:
        return []
    rows_of = d.assign(**{k.name: k for k in keys}).sort_values(["_file", "_sheet", "_row"]).groupby(
        [k.name for k in keys], sort=False)
    out = []
    for kv, flags in differing.iterrows():  # one iteration per conflicting key (reference rows, not payouts)
        kv = kv if isinstance(kv, tuple) else (kv,)
        rows = rows_of.get_group(kv)
        out.append({"table": table, "key": dict(zip(key, kv)), "n_rows": int(len(rows)),
                    "columns": sorted(c for c, v in flags.items() if v),
                    "rows": [{"file": f, "sheet": s, "row": int(r)}
                             for f, s, r in zip(rows["_file"], rows["_sheet"], rows["_row"])]})
    return out

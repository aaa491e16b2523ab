"""Turn one laid-out sheet into a canonical table plus quarantined rows.

Source: DATA_CONTRACT.md (Tables, Identifiers and values, Intake outputs).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core import tables
from ..core.log import logger
from . import places
from .cleaning import escape_controls
from .columns import normalise_column
from .layout import Layout
from .values import is_blank, parse_money
from .wide import WideSpec, unpivot

__all__ = ["SheetResult", "build_sheet", "QUARANTINE_COLUMNS", "to_canonical_dtypes", "empty_table"]

QUARANTINE_COLUMNS = ["file", "sheet", "row", "table", "reason", "detail", "raw"]

#: Columns whose flags are written without a column prefix.
_PRIMARY = {"person_id", "holder_id", "account_no", "period", "paid_month", "amount", "cert_no"}
#: The ID column whose absence quarantines (or flags) a row.
_ID_COLUMN = {"cards": "holder_id", "relations": "official_id"}
_MONEY_QUARANTINE = {"amount", "net_amount", "fee", "monthly_amount"}
#: Kinds of intake-only columns that are not in ``tables.TABLES`` (e.g. the 标准
#: of a wide 花名册, in fen).
_EXTRA_KINDS = {"standard": "money"}


@dataclass
class SheetResult:
    """Canonical rows, quarantined rows and the intake.json entry of one sheet."""

    table: str
    frame: pd.DataFrame
    quarantine: list[dict]
    entry: dict = field(default_factory=dict)
    village_renames: list[dict] = field(default_factory=list)


def _jsonable(v):
    if isinstance(v, (_dt.datetime, _dt.date)):
        return v.isoformat()
    if isinstance(v, float) and v == int(v) and abs(v) < 1e15:
        return int(v)
    return v if isinstance(v, (int, float, str, bool)) else str(v)


def raw_json(headers: list[str], row) -> str:
    """Original non-blank cells of one row as JSON ``{header or column letter: value}``.

    Control, bidi and zero-width characters stay in the text, escaped (``\\u202e``).
    """
    out = {}
    for i, v in enumerate(row):
        if not is_blank(v):
            key = headers[i] if i < len(headers) and headers[i] else f"列{i + 1}"
            out[key] = _jsonable(v)
    return escape_controls(json.dumps(out, ensure_ascii=False))


def empty_table(table: str) -> pd.DataFrame:
    """A 0-row canonical frame with the right columns and dtypes."""
    cols = tables.columns(table)
    df = pd.DataFrame({c: pd.Series([], dtype=object) for c in cols + tables.PROVENANCE})
    return to_canonical_dtypes(df, table)


def to_canonical_dtypes(df: pd.DataFrame, table: str) -> pd.DataFrame:
    """Cast columns to the dtypes of their schema kind (see ``schema`` docstring)."""
    kinds = tables.TABLES[table]
    for c in df.columns:
        kind = kinds.get(c, _EXTRA_KINDS.get(c, "text"))
        if c == "_row" or kind in ("money", "int"):
            df[c] = pd.array(df[c].to_numpy(dtype=object), dtype="Int64")
        elif kind == "month":
            df[c] = pd.array([v if isinstance(v, pd.Period) else None for v in df[c].to_numpy(dtype=object)],
                             dtype="period[M]")
        elif kind == "date":
            df[c] = pd.to_datetime(pd.Series(df[c].to_numpy(dtype=object), index=df.index)).astype("datetime64[s]")
        else:
            df[c] = df[c].astype(object).where(df[c].notna(), None).astype("string")
    return df


class _RowState:
    """Per-data-row bookkeeping while a sheet is built: flags, quarantine reason and detail.

    Attributes
    ----------
    n : int
        Number of data rows (after layout drops).
    flags : np.ndarray of str
        ``;``-prefixed flag list per row (leading ``;`` stripped at assembly).
    reasons, details : np.ndarray of object
        First quarantine reason (or None) and its detail per row.
    """

    def __init__(self, n: int):
        self.n = n
        self.flags = np.full(n, "", dtype=object)
        self.reasons = np.full(n, None, dtype=object)
        self.details = np.full(n, "", dtype=object)

    def add_flags(self, arr: np.ndarray, col: str) -> None:
        """Add per-row flags ``arr`` (``;``-joined, ``""`` for none), prefixed ``col.`` unless primary."""
        nonempty = arr != ""
        if not nonempty.any():
            return
        tagged = arr if col in _PRIMARY else np.array([";".join(f"{col}.{x}" for x in s.split(";")) if s else ""
                                                       for s in arr], dtype=object)
        self.flags[nonempty] = self.flags[nonempty] + ";" + tagged[nonempty]

    def add_raw_flags(self, arr: np.ndarray) -> None:
        """Add per-row flags exactly as given (no column prefix)."""
        nonempty = arr != ""
        if nonempty.any():
            self.flags[nonempty] = self.flags[nonempty] + ";" + arr[nonempty]

    def add_reason(self, mask: np.ndarray, reason, detail: np.ndarray | str) -> None:
        """Quarantine rows in ``mask`` that have no reason yet (``reason`` a code or per-row array)."""
        new = mask & pd.isna(self.reasons)
        self.reasons[new] = reason[new] if isinstance(reason, np.ndarray) else reason
        self.details[new] = detail[new] if isinstance(detail, np.ndarray) else detail

    @property
    def quarantined(self) -> np.ndarray:
        """Boolean per row: the row has a quarantine reason."""
        return np.asarray(pd.notna(self.reasons) & (self.reasons != None), dtype=bool)  # noqa: E711


def _data_rows(layout: Layout) -> pd.DataFrame:
    """The body rows of ``layout`` that the layout did not drop (blank, total, footer)."""
    body = layout.body
    return body.loc[body.index[~body.index.isin(list(layout.dropped))]]


def _normalise_mapped_columns(state: _RowState, data: pd.DataFrame, colmap: dict[int, str], names: list[str],
                              units: list, kinds: dict, table: str, typed: bool) -> tuple[dict, str | None]:
    """Normalise every mapped grid column into canonical values.

    Returns
    -------
    (out, split_source)
        ``out``: canonical column -> per-row values (object arrays), including the
        derived ``category``/``grade`` (from a cert number), ``township_code`` and
        ``address_raw``; ``split_source``: the month column whose multi-month cells
        split rows (``period``/``paid_month``) or None.
    """
    out: dict[str, object] = {}
    split_source = None
    for pos, col in colmap.items():
        kind = kinds[col]
        scale = 10000 if units[pos] == "万元" else 1
        res = normalise_column(data.iloc[:, pos], "category" if col == "category" else kind, typed, scale)
        vals = res.row_values()
        state.add_flags(res.row_flags(), col)
        _value_reasons(state, res, col, kind, table, names[pos])
        if kind == "cert":
            out[col] = np.array([v[0] if v else None for v in vals], dtype=object)
            for i, extra in ((1, "category"), (2, "grade")):
                if extra in kinds:
                    parsed = np.array([v[i] if v else None for v in vals], dtype=object)
                    prev = out.get(extra)
                    out[extra] = parsed if prev is None else np.where(pd.isna(prev), parsed, prev)
        elif kind == "township":
            out[col] = np.array([v[0] if v else None for v in vals], dtype=object)
            out["township_code"] = np.array([v[1] if v else None for v in vals], dtype=object)
        elif kind == "address":
            out[col] = vals
            out["address_raw"] = res.take([None if is_blank(u) else str(u).strip() for u in res.uniq_raw])
        elif kind == "month":
            vals, split_source = _month_values(vals, col, split_source)
            out[col] = vals
        elif kind == "int" and col in out:  # cert number already gave it; the column wins where filled
            out[col] = np.where(pd.isna(vals), out[col], vals)
        else:
            out[col] = vals
    return out, split_source


def _value_reasons(state: _RowState, res, col: str, kind: str, table: str, header: str) -> None:
    """Quarantine (or flag) rows whose value in ``col`` is unusable.

    A secondary ID column (guardian, relative ...) or a money column outside
    ``_MONEY_QUARANTINE`` only flags ``unusable_value``; the table's own ID and
    amounts quarantine the row with the normaliser's reason.
    """
    rr = res.row_reasons()
    bad = pd.notna(rr)
    if not bad.any():
        return
    primary_id = col == _ID_COLUMN.get(table, "person_id")
    if kind == "id" and not primary_id or (kind == "money" and col not in _MONEY_QUARANTINE):
        state.add_flags(np.where(bad, "unusable_value", ""), col)
    else:
        raw_txt = res.take([str(u) for u in res.uniq_raw], "")
        new = bad & pd.isna(state.reasons)
        state.reasons[new] = rr[new]
        state.details[new] = np.array([f"{header or col}={x}" for x in raw_txt[new]], dtype=object)


def _month_values(vals: np.ndarray, col: str, split_source: str | None) -> tuple[np.ndarray, str | None]:
    """Multi-month cells: ``period``/``paid_month`` split rows later; ``end_month`` takes the last
    month, any other month column the first."""
    multi = np.array([isinstance(v, list) for v in vals], dtype=bool)
    if multi.any():
        if col in ("period", "paid_month") and (split_source is None or col == "period"):
            split_source = col
        elif col == "end_month":
            vals = np.array([v[-1] if isinstance(v, list) else v for v in vals], dtype=object)
        else:
            vals = np.array([v[0] if isinstance(v, list) else v for v in vals], dtype=object)
    return vals, split_source


def _normalise_wide_groups(state: _RowState, data: pd.DataFrame, layout: Layout, units: list,
                           wide: WideSpec | None, typed: bool) -> tuple[dict, dict]:
    """Parse the money columns of a wide 花名册's subsidy groups.

    Returns
    -------
    (wide_cols, wide_flags)
        ``(group index, role) -> fen per row`` for roles ``amount``/``net``/``standard``,
        and ``group index -> amount flags per row``. An unparseable group amount
        quarantines the row; an unparseable net/standard only flags it.
    """
    wide_cols: dict[tuple[int, str], np.ndarray] = {}
    wide_flags: dict[int, np.ndarray] = {}
    for gi, g in enumerate(wide.groups if wide is not None else []):
        for role, pos in (("amount", g.amount), ("net", g.net), ("standard", g.standard)):
            if pos is None:
                continue
            scale = 10000 if 10000 in (wide.scale, g.scale) or units[pos] == "万元" else 1
            res = normalise_column(data.iloc[:, pos], "money", typed, scale)
            vals = res.row_values()
            bad = pd.notna(res.row_reasons())
            if role == "amount":
                wide_flags[gi] = res.row_flags()
                if bad.any():
                    raw_txt = res.take([str(u) for u in res.uniq_raw], "")
                    state.add_reason(bad, "unparseable_amount",
                                     np.array([f"{layout.headers[pos]}={x}" for x in raw_txt], dtype=object))
            elif bad.any():
                state.add_flags(np.where(bad, "unusable_value", ""), f"{g.subsidy}.{role}")
                vals = np.where(bad, None, vals)
            wide_cols[(gi, role)] = vals
    return wide_cols, wide_flags


def _match_village_column(state: _RowState, out: dict) -> list[dict]:
    """Fold ``village`` to official names within the row's township; flag unknown ones.

    Returns the renames made (see :func:`places.match_villages`), without row counts
    of the whole delivery (the pipeline sums them).
    """
    if "village" not in out:
        return []
    tcodes = pd.Series(out.get("township_code", np.full(state.n, None, dtype=object)), dtype=object)
    match = places.match_villages(tcodes, pd.Series(out["village"], dtype=object))
    out["village"] = match.name.to_numpy(dtype=object)
    out["village_code"] = match.code.to_numpy(dtype=object)
    state.add_flags(np.where(match.unknown.to_numpy(), "village_unknown", ""), "village")
    state.add_flags(np.where(match.ambiguous.to_numpy(), "village_ambiguous", ""), "village")
    state.add_flags(np.where(match.renamed.to_numpy(), "village_renamed", ""), "village")
    return match.renames


def _payout_rules(state: _RowState, out: dict, wide: WideSpec | None, colmap: dict[int, str],
                  names: list[str], split_source: str | None) -> str | None:
    """Payout-table rules: period from the title or ``paid_month``, default status, ``序号``.

    A row with neither period nor paid month is quarantined ``unparseable_period``;
    a ``序号`` column is a row counter, never a serial number. Returns the updated
    ``split_source``.
    """
    n = state.n
    if wide is not None and wide.period is not None and "period" not in out and "paid_month" not in out:
        out["period"] = pd.Series([wide.period] * n, dtype=object).to_numpy() if n else np.empty(0, object)
        state.add_flags(np.full(n, "period_from_title", dtype=object), "period")
        if isinstance(wide.period, list):
            split_source = "period"
    if "status" not in out:
        out["status"] = np.full(n, "paid", dtype=object)
    if "period" not in out and "paid_month" in out:
        out["period"] = out["paid_month"].copy()
        state.add_flags(np.where(pd.notna(out["period"]), "period_from_paid_month", ""), "period")
        if split_source == "paid_month":
            split_source = "period"
    elif "period" in out and "paid_month" in out:
        fill = pd.isna(out["period"]) & pd.notna(out["paid_month"])
        out["period"] = np.where(fill, out["paid_month"], out["period"])
        state.add_flags(np.where(fill, "period_from_paid_month", ""), "period")
    state.add_reason(pd.isna(out["period"]), "unparseable_period", "缺少所属期/发放年月")
    if "payout_id" in out:
        pos = next(p for p, c in colmap.items() if c == "payout_id")
        if names[pos] == "序号":
            out["payout_id"] = np.full(n, None, dtype=object)  # a row counter, not a serial number
    return split_source


def _id_rule(state: _RowState, out: dict, table: str, kinds: dict) -> None:
    """A row without the table's ID: quarantined ``id_missing`` where the contract requires an ID,
    else flagged ``no_id``; a care institution's card without holder ID is kept and flagged."""
    id_col = _ID_COLUMN.get(table, "person_id")
    if id_col not in kinds:
        return
    n = state.n
    no_id = pd.isna(out[id_col]) if id_col in out else np.ones(n, dtype=bool)
    if table == "cards" and "institution" in out:
        # A care institution's collection account (集中供养机构) has no personal holder ID:
        # it is a lawful registry row, kept and flagged, not quarantined.
        inst = pd.Series(out["institution"]).astype("string").str.strip().fillna("").ne("").to_numpy(bool)
        no_id = np.asarray(no_id, dtype=bool)
        state.add_flags(np.where(no_id & inst, "institution_no_holder_id", ""), id_col)
        no_id = no_id & ~inst
    if table in tables.ID_REQUIRED_TABLES:
        state.add_reason(no_id, "id_missing", f"缺少{id_col}")
    else:
        state.add_flags(np.where(no_id, "no_id", ""), id_col)


def _assemble(out: dict, kinds: dict, state: _RowState, file: str, sheet_name: str,
              rows: np.ndarray) -> pd.DataFrame:
    """All canonical columns (missing ones as None), code/raw companions and provenance."""
    frame = pd.DataFrame({c: out[c] for c in out}, index=range(state.n))
    for c in kinds:
        if c not in frame:
            frame[c] = None
    for extra, base in (("township_code", "township"), ("village_code", "village"), ("address_raw", "address")):
        if extra not in frame and base in kinds:
            frame[extra] = None
    frame["_file"] = file
    frame["_sheet"] = sheet_name
    frame["_row"] = rows
    frame["_flags"] = pd.Series(state.flags).str.lstrip(";").to_numpy()
    return frame


def _quarantine_rows(layout: Layout, state: _RowState, data: pd.DataFrame, rows: np.ndarray,
                     table: str, file: str, sheet_name: str) -> list[dict]:
    """Quarantine records: the layout's dropped rows first (by row number), then data rows."""
    headers = layout.headers
    qrows: list[dict] = []
    for rn, (reason, detail) in sorted(layout.dropped.items()):
        qrows.append({"file": file, "sheet": sheet_name, "row": rn, "table": table, "reason": reason,
                      "detail": detail, "raw": raw_json(headers, layout.raw_row(rn))})
    for i in np.flatnonzero(state.quarantined):
        rn = int(rows[i])
        raw = layout.raw_row(rn) if layout.is_cleaned(rn) else data.iloc[i].tolist()
        qrows.append({"file": file, "sheet": sheet_name, "row": rn, "table": table,
                      "reason": state.reasons[i], "detail": state.details[i], "raw": raw_json(headers, raw)})
    return qrows


def _unpivot_wide(frame: pd.DataFrame, wide: WideSpec, wide_cols: dict, wide_flags: dict,
                  keep: np.ndarray) -> tuple[pd.DataFrame, dict]:
    """Unpivot the accepted rows of a wide 花名册 (see :func:`.wide.unpivot`)."""
    groups = range(len(wide.groups))
    return unpivot(
        frame, [wide_cols[(gi, "amount")][keep] for gi in groups],
        [wide_cols[(gi, "net")][keep] if (gi, "net") in wide_cols else None for gi in groups],
        [wide_cols[(gi, "standard")][keep] if (gi, "standard") in wide_cols else None for gi in groups],
        wide, [wide_flags[gi][keep] for gi in groups])


def _entry(layout: Layout, state: _RowState, qrows: list[dict], frame: pd.DataFrame, colmap: dict[int, str],
           table: str, file: str, sheet_name: str, split_count: int, wide: WideSpec | None,
           wide_stats: dict | None, units: list, quarantined_fen: int) -> dict:
    """The ``intake.json`` entry of one sheet (row conservation, header map, flags, checksum)."""
    headers = layout.headers
    body = layout.body
    flag_counts = Counter(f for s in frame["_flags"].dropna() if s for f in s.split(";"))
    entry = {
        "file": file, "sheet": sheet_name, "table": table,
        "rows_read": int(len(body)) + sum(1 for r in layout.dropped if r not in set(body.index)),
        "rows_accepted": int(state.n - state.quarantined.sum()),
        "rows_quarantined": len(qrows),
        "quarantined_by_reason": dict(Counter(q["reason"] for q in qrows)),
        "header_rows": layout.header_rows,
        "header_map": {headers[p] or f"列{p + 1}": c for p, c in colmap.items()},
        "unmapped_headers": [headers[p] for p in range(len(headers)) if headers[p] and p not in colmap],
        "flags": dict(flag_counts),
        "split_rows": split_count,
        "rows_emitted": int(len(frame)),
    }
    if wide is not None:
        _wide_entry(entry, layout, wide, wide_stats, flag_counts)
    if layout.total_rows and ("amount" in colmap.values() or wide is not None):
        entry["checksum"] = _checksum(layout, colmap, units, frame, wide, quarantined_fen)
    return entry


def _wide_entry(entry: dict, layout: Layout, wide: WideSpec, wide_stats: dict, flag_counts: Counter) -> None:
    """Add a wide 花名册's groups, title period and group headers to its ``entry``."""
    entry["wide"] = {
        "groups": [{"subsidy": g.subsidy, "amount": layout.headers[g.amount],
                    "standard": layout.headers[g.standard] if g.standard is not None else None}
                   for g in wide.groups],
        **wide_stats,
    }
    if wide.period_text and "period_from_title" in flag_counts:
        entry["period_from_title"] = wide.period_text
    for g in wide.groups:
        for pos, canonical in ((g.amount, "amount"), (g.net, "net_amount"), (g.standard, "standard")):
            if pos is not None:
                entry["header_map"][layout.headers[pos]] = canonical
    entry["unmapped_headers"] = [h for h in entry["unmapped_headers"]
                                if h not in {layout.headers[p] for p in wide.positions}]


def build_sheet(layout: Layout, names: list[str], units: list[str | None], colmap: dict[int, str],
                table: str, file: str, sheet_name: str, typed: bool, wide: WideSpec | None = None) -> SheetResult:
    """Normalise the data rows of one sheet into ``table``.

    Steps: select data rows; normalise the mapped columns (:func:`_normalise_mapped_columns`)
    and a wide roster's groups; carry the cell flags of intake's text cleaning; match
    villages within their township; apply the payout and ID rules; assemble the canonical
    frame; list quarantined rows; unpivot a wide roster; split multi-month rows; write
    the ``intake.json`` entry.

    Parameters
    ----------
    layout : Layout
    names, units : list
        Normalised header text and stripped unit per grid column.
    colmap : dict
        Grid column position -> canonical column.
    table, file, sheet_name : str
    typed : bool
        Cells come from typed Excel cells.
    wide : WideSpec, optional
        The sheet is a wide 花名册 (``table`` must be ``payouts``): each accepted
        source row is unpivoted into one row per subsidy group with a non-zero
        amount (see :mod:`.wide`); ``colmap`` must not map the group columns.

    Returns
    -------
    SheetResult
        ``frame``: canonical columns + ``_file``, ``_sheet``, ``_row``, ``_flags``;
        rows split per month are repeated with the amount divided in fen.
        ``entry["rows_emitted"]`` is the number of canonical rows produced.
        ``village_renames``: village names folded to a different official name.
    """
    kinds = tables.TABLES[table]
    data = _data_rows(layout)
    rows = data.index.to_numpy()
    state = _RowState(len(data))
    out, split_source = _normalise_mapped_columns(state, data, colmap, names, units, kinds, table, typed)
    wide_cols, wide_flags = _normalise_wide_groups(state, data, layout, units, wide, typed)
    state.add_raw_flags(layout.cell_flags_for(rows))
    renames = _match_village_column(state, out)
    if table == "payouts":
        split_source = _payout_rules(state, out, wide, colmap, names, split_source)
    _id_rule(state, out, table, kinds)

    frame = _assemble(out, kinds, state, file, sheet_name, rows)
    qrows = _quarantine_rows(layout, state, data, rows, table, file, sheet_name)
    quarantined = state.quarantined
    # Money on quarantined data rows (e.g. a payment row without an ID) is still in the
    # office's 合计; the checksum accounts for it instead of warning.
    quarantined_fen = (int(pd.array(frame.loc[quarantined, "amount"], dtype="Int64").sum(skipna=True))
                       if "amount" in frame else 0)
    frame = frame.loc[~quarantined].reset_index(drop=True)
    wide_stats = None
    if wide is not None:
        frame, wide_stats = _unpivot_wide(frame, wide, wide_cols, wide_flags, ~quarantined)
    split_count = 0
    if split_source and len(frame):
        frame, split_count = _split_months(frame, split_source, kinds)
    frame = to_canonical_dtypes(frame, table)
    entry = _entry(layout, state, qrows, frame, colmap, table, file, sheet_name, split_count, wide, wide_stats,
                   units, quarantined_fen)
    return SheetResult(table, frame, qrows, entry, renames)


def _split_months(frame: pd.DataFrame, col: str, kinds: dict) -> tuple[pd.DataFrame, int]:
    """One row per month for rows whose ``col`` holds a list of months; money split in fen."""
    is_multi = frame[col].map(lambda v: isinstance(v, list)).to_numpy(dtype=bool)
    if not is_multi.any():
        return frame, 0
    counts = np.where(is_multi, frame[col].map(lambda v: len(v) if isinstance(v, list) else 1), 1)
    rep = frame.loc[frame.index.repeat(counts)].reset_index(drop=True)
    months = [m for v in frame[col] for m in (v if isinstance(v, list) else [v])]
    rep[col] = np.array(months, dtype=object)
    k = np.concatenate([np.arange(c) for c in counts])
    nrep = np.repeat(counts, counts)
    last = k == nrep - 1
    for c, kind in kinds.items():
        if kind == "money" and c in rep:
            total = rep[c].to_numpy(dtype=object)
            ok = pd.notna(total) & (nrep > 1)
            new = total.copy()
            for i in np.flatnonzero(ok):
                t, m = int(total[i]), int(nrep[i])
                new[i] = t // m + (t - (t // m) * m if last[i] else 0)
            rep[c] = new
    tag = np.array([f"multi_month;split_{m}" if m > 1 else "" for m in nrep], dtype=object)
    rep["_flags"] = [";".join(x for x in (f, t) if x) for f, t in zip(rep["_flags"], tag)]
    return rep, int(is_multi.sum())


def _checksum(layout: Layout, colmap: dict, units: list, frame: pd.DataFrame, wide: WideSpec | None,
              quarantined_fen: int = 0) -> dict:
    """Compare the sheet's 合计 row with the parsed amounts (REAL_WORLD_CASES B11).

    ``ok`` when the total equals the accepted rows' sum, or that sum plus the money on
    quarantined data rows (``explained_by_quarantine``); otherwise a warning is logged.
    """
    if wide is not None:
        cells = [(g.amount, 10000 if 10000 in (wide.scale, g.scale) or units[g.amount] == "万元" else 1)
                 for g in wide.groups]
    else:
        pos = next(p for p, c in colmap.items() if c == "amount")
        cells = [(pos, 10000 if units[pos] == "万元" else 1)]
    rn = layout.total_rows[-1]
    parts = [parse_money(layout.body.loc[rn].iloc[p], s)[0] for p, s in cells]
    total = None if all(t is None for t in parts) else sum(t for t in parts if t is not None)
    parsed = int(pd.array(frame["amount"], dtype="Int64").sum(skipna=True))
    ok = total is not None and total == parsed
    explained = not ok and total is not None and quarantined_fen and total == parsed + quarantined_fen
    if not ok and not explained:
        logger.warning("合计行校验不一致：%s 第 %s 行 合计=%s 分，解析合计=%s 分（含隔离行 %s 分）",
                       frame["_file"].iat[0] if len(frame) else "", rn, total, parsed, quarantined_fen)
    return {"row": rn, "total_fen": total, "parsed_fen": parsed, "quarantined_fen": quarantined_fen,
            "ok": bool(ok or explained), "explained_by_quarantine": bool(explained)}

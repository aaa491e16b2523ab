"""Sheet layout: header band under title rows, merged headers, footers and totals.

Source: REAL_WORLD_CASES.md B09 (merged two-row headers), B11 (titles, 合计,
signature footers, blank rows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .headers import normalise_header
from .readers import RawSheet
from .values import is_blank

__all__ = ["Layout", "find_layout", "blank_mask"]

_SCAN_ROWS = 40
_TOTAL = re.compile(r"^(合计|小计|总计|累计|总合计|本页合计|本页小计)")
_FOOTER = re.compile(r"^(制表|审核|审批|填报|填表|负责人|单位负责人|经办|复核|打印|注[:：]|说明|备注[:：]|"
                     r"领导|签字|签名|盖章|日期[:：]|第\d+页|共\d+页|数据来源[:：]|统计时间|导出时间)")
_ID_LIKE = re.compile(r"\d{15}|\d{17}[\dXx]")


@dataclass
class Layout:
    """Where the data of one sheet is.

    Attributes
    ----------
    headers : list of str
        One flattened header text per grid column (``""`` when blank), e.g.
        ``困难残疾人生活补贴_金额`` for a two-row merged header.
    header_rows : list of int
        The header band's row numbers.
    body : pd.DataFrame
        Data rows (object cells), index = row number; vertically merged cells
        filled down.
    dropped : dict of row number -> (reason, detail)
        Rows that are not data: ``blank_row``, ``total_row``, ``title_or_footer``.
    total_rows : list of int
        Rows starting with 合计/总计 (checksum candidates).
    above : pd.DataFrame or None
        The rows above the header band.
    original : pd.DataFrame or None
        The sheet as read, before text cleaning (only when cleaning changed a cell).
    cell_flags : dict of row number -> str
        Flags of the rows whose cells cleaning changed.
    """

    headers: list[str]
    header_rows: list[int]
    body: pd.DataFrame
    dropped: dict[int, tuple[str, str]] = field(default_factory=dict)
    total_rows: list[int] = field(default_factory=list)
    above: pd.DataFrame | None = None
    original: pd.DataFrame | None = None
    cell_flags: dict[int, str] = field(default_factory=dict)

    def is_cleaned(self, row: int) -> bool:
        """Whether intake's text cleaning changed a cell of ``row`` (see :mod:`.cleaning`)."""
        return row in self.cell_flags

    def cell_flags_for(self, rows: np.ndarray) -> np.ndarray:
        """Cleaning flags (``control_chars``, ``cell_truncated``; ``;``-joined) per row number."""
        if not self.cell_flags:
            return np.full(len(rows), "", dtype=object)
        return np.array([self.cell_flags.get(int(r), "") for r in rows], dtype=object)

    def raw_row(self, row: int) -> list:
        """Original cells of a row (body or above the header band), as read before cleaning."""
        if self.original is not None and row in self.cell_flags:
            return self.original.loc[row].tolist()
        if row in self.body.index:
            return self.body.loc[row].tolist()
        return self.above.loc[row].tolist() if self.above is not None and row in self.above.index else []


def blank_mask(col: pd.Series) -> np.ndarray:
    """Boolean array: cell is blank. Evaluated once per distinct value."""
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    ub = np.array([is_blank(u) for u in uniq] + [True], dtype=bool)
    return ub[codes]  # code -1 picks the trailing True


def _cell_text(v) -> str:
    if is_blank(v):
        return ""
    if isinstance(v, float) and v == int(v):
        v = int(v)
    return re.sub(r"\s+", "", str(v))


def _row_score(values, spellings: set[str]) -> int:
    return sum(1 for v in values if isinstance(v, str) and normalise_header(v)[0] in spellings)


def _looks_like_subheader(row: list, top: list, merged_h: bool) -> bool:
    texts = [v for v in row if not is_blank(v)]
    if not texts or any(not isinstance(v, str) for v in texts):
        return False
    if any(_ID_LIKE.search(v) or re.fullmatch(r"[\d.,\-]+", v.strip()) for v in texts):
        return False
    fills_gap = any(is_blank(t) and not is_blank(s) for t, s in zip(top, row))
    return merged_h or fills_gap


def _header_row(top: np.ndarray, spellings: set[str]) -> int | None:
    """Row position (0-based, in the first 40 rows) with the most known headers, if >= 2."""
    scores = [_row_score(r, spellings) for r in top]
    best = int(np.argmax(scores))
    return best if scores[best] >= 2 else None


def _header_band(sheet: RawSheet, top: np.ndarray, best: int) -> list[int]:
    """The header row plus a sub-header row below it when it looks like one (merged headers)."""
    header_pos = [best]
    hmerged = [m for m in sheet.merged if m[0] == best and m[3] > m[1]]
    if best + 1 < len(top) and _looks_like_subheader(list(top[best + 1]), list(top[best]), bool(hmerged)):
        header_pos.append(best + 1)
    return header_pos


def _flatten_headers(sheet: RawSheet, top: np.ndarray, header_pos: list[int]) -> list[str]:
    """One header text per column: merged cells filled across their span, a two-row band
    joined as ``upper_lower`` (the upper row filled rightwards over its sub-headers)."""
    band = [list(top[p]) for p in header_pos]
    for r0, c0, r1, c1 in sheet.merged:  # fill merged header cells across their span
        for bi, p in enumerate(header_pos):
            if r0 <= p <= r1 and c0 < len(band[bi]):
                value = top[r0][c0]
                for c in range(c0, min(c1 + 1, len(band[bi]))):
                    band[bi][c] = value
    if len(band) != 2:
        return [_cell_text(v) for v in band[0]]
    upper, lower = band
    last = ""
    for c in range(len(upper)):  # no merge info: fill the upper row rightwards over sub-headers
        if is_blank(upper[c]) and not is_blank(lower[c]) and last:
            upper[c] = last
        elif not is_blank(upper[c]):
            last = upper[c]
    headers = []
    for u, lo in zip(upper, lower):
        u, lo = _cell_text(u), _cell_text(lo)
        headers.append(f"{u}_{lo}" if u and lo and u != lo else (u or lo))
    return headers


def _body(sheet: RawSheet, first_body: int) -> pd.DataFrame:
    """Rows below the header band, vertically merged group cells filled down."""
    grid = sheet.grid
    body = grid.iloc[first_body:].copy()
    for r0, c0, r1, c1 in sheet.merged:
        if r1 > r0 and r1 >= first_body:
            value = grid.iat[r0, c0]
            lo = max(r0, first_body) - first_body
            for c in range(c0, c1 + 1):
                body.iloc[lo: r1 - first_body + 1, c] = value
    return body


def _rows_above(grid: pd.DataFrame, best: int) -> dict[int, tuple[str, str]]:
    """Rows above the header band: titles (``title_or_footer``) or blank (``blank_row``)."""
    dropped: dict[int, tuple[str, str]] = {}
    for p in range(best):
        texts = [_cell_text(v) for v in grid.iloc[p] if not is_blank(v)]
        rn = int(grid.index[p])
        dropped[rn] = ("title_or_footer", "表头上方：" + " ".join(texts)) if texts else ("blank_row", "")
    return dropped


def _first_cell_kinds(first: pd.Series, headers: list[str]) -> np.ndarray:
    """Kind of each row's first non-blank cell, evaluated once per distinct value:
    ``total_row``, ``title_or_footer``, ``repeat_header``, ``colon_text`` or ``""``."""
    codes, uniq = pd.factorize(first, use_na_sentinel=True)
    header_first = next((h for h in headers if h), None)
    kinds = []
    for u in uniq:
        t = _cell_text(u)
        if _TOTAL.match(t):
            kinds.append("total_row")
        elif _FOOTER.match(t):
            kinds.append("title_or_footer")
        elif t == header_first:
            kinds.append("repeat_header")
        elif isinstance(u, str) and ("：" in t or ":" in t) and not _ID_LIKE.search(t):
            kinds.append("colon_text")
        else:
            kinds.append("")
    kinds.append("")
    return np.array(kinds, dtype=object)[codes]


def _classify_body(body: pd.DataFrame, headers: list[str], dropped: dict) -> list[int]:
    """Drop blank, total, footer and repeated-header rows of ``body`` into ``dropped``.

    Returns the 合计/总计 rows (checksum candidates).
    """
    total_rows: list[int] = []
    if not len(body):
        return total_rows
    blanks = np.column_stack([blank_mask(body[c]) for c in body.columns])
    nonblank = ~blanks
    n_filled = nonblank.sum(axis=1)
    first_idx = nonblank.argmax(axis=1)
    values = body.to_numpy(dtype=object)[np.arange(len(body)), first_idx]
    kind = _first_cell_kinds(pd.Series(values, dtype=object), headers)
    rows = body.index.to_numpy()
    for i in np.flatnonzero((n_filled == 0) | (kind != "")):
        rn = int(rows[i])
        k = kind[i]
        if n_filled[i] == 0:
            dropped[rn] = ("blank_row", "")
        elif k == "total_row":
            dropped[rn] = ("total_row", _cell_text(values[i]))
            if re.match(r"^(合计|总计|总合计)", _cell_text(values[i])):
                total_rows.append(rn)
        elif k == "title_or_footer" or (k == "colon_text" and n_filled[i] <= 2):
            texts = [_cell_text(v) for v, b in zip(body.iloc[i], blanks[i]) if not b]
            dropped[rn] = ("title_or_footer", " ".join(texts)[:200])
        elif k == "repeat_header":
            dropped[rn] = ("title_or_footer", "重复的表头行")
    return total_rows


def find_layout(sheet: RawSheet, spellings: set[str]) -> Layout | None:
    """Locate the header band and classify the rows of ``sheet``.

    Steps: the header row (:func:`_header_row`), its band (:func:`_header_band`),
    flattened headers (:func:`_flatten_headers`), the body (:func:`_body`), rows above
    the band (:func:`_rows_above`) and rows of the body that are not data
    (:func:`_classify_body`).

    Parameters
    ----------
    sheet : RawSheet
    spellings : set of str
        Every known normalised header spelling (any table).

    Returns
    -------
    Layout or None
        ``None`` when no row in the first 40 has at least two known headers
        (the sheet is not a table).
    """
    grid = sheet.grid
    if grid.empty:
        return None
    top = grid.iloc[:_SCAN_ROWS].to_numpy(dtype=object)
    best = _header_row(top, spellings)
    if best is None:
        return None
    header_pos = _header_band(sheet, top, best)
    headers = _flatten_headers(sheet, top, header_pos)
    body = _body(sheet, header_pos[-1] + 1)
    dropped = _rows_above(grid, best)
    total_rows = _classify_body(body, headers, dropped)
    return Layout(headers, [int(grid.index[p]) for p in header_pos], body, dropped, total_rows,
                  grid.iloc[:best], sheet.original, sheet.cell_flags)

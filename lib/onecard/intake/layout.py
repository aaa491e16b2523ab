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
    """

    headers: list[str]
    header_rows: list[int]
    body: pd.DataFrame
    dropped: dict[int, tuple[str, str]] = field(default_factory=dict)
    total_rows: list[int] = field(default_factory=list)
    above: pd.DataFrame | None = None

    def raw_row(self, row: int) -> list:
        """Original cells of a row (body or above the header band)."""
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


def find_layout(sheet: RawSheet, spellings: set[str]) -> Layout | None:
    """Locate the header band and classify the rows of ``sheet``.

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
    scores = [_row_score(r, spellings) for r in top]
    best = int(np.argmax(scores))
    if scores[best] < 2:
        return None
    header_pos = [best]
    hmerged = [m for m in sheet.merged if m[0] == best and m[3] > m[1]]
    if best + 1 < len(top) and _looks_like_subheader(list(top[best + 1]), list(top[best]), bool(hmerged)):
        header_pos.append(best + 1)
    band = [list(top[p]) for p in header_pos]
    for r0, c0, r1, c1 in sheet.merged:  # fill merged header cells across their span
        for bi, p in enumerate(header_pos):
            if r0 <= p <= r1 and c0 < len(band[bi]):
                value = top[r0][c0]
                for c in range(c0, min(c1 + 1, len(band[bi]))):
                    band[bi][c] = value
    if len(band) == 2:
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
    else:
        headers = [_cell_text(v) for v in band[0]]

    first_body = header_pos[-1] + 1
    body = grid.iloc[first_body:].copy()
    for r0, c0, r1, c1 in sheet.merged:  # fill vertically merged group cells down
        if r1 > r0 and r1 >= first_body:
            value = grid.iat[r0, c0]
            lo = max(r0, first_body) - first_body
            for c in range(c0, c1 + 1):
                body.iloc[lo: r1 - first_body + 1, c] = value
    dropped: dict[int, tuple[str, str]] = {}
    for p in range(best):  # rows above the header band are titles or blank
        row = grid.iloc[p]
        texts = [_cell_text(v) for v in row if not is_blank(v)]
        rn = int(grid.index[p])
        dropped[rn] = ("title_or_footer", "表头上方：" + " ".join(texts)) if texts else ("blank_row", "")

    total_rows: list[int] = []
    if len(body):
        blanks = np.column_stack([blank_mask(body[c]) for c in body.columns])
        nonblank = ~blanks
        n_filled = nonblank.sum(axis=1)
        first_idx = nonblank.argmax(axis=1)
        values = body.to_numpy(dtype=object)[np.arange(len(body)), first_idx]
        first = pd.Series(values, dtype=object)
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
        kind = np.array(kinds, dtype=object)[codes]
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
    return Layout(headers, [int(grid.index[p]) for p in header_pos], body, dropped, total_rows,
                  grid.iloc[:best])

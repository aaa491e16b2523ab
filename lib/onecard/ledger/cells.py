"""Excel cells written safely, and read back: the ledger's one Excel layer.

Every text cell that Excel (or a CSV consumer) could read as a formula — one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — is written
with a leading apostrophe (OWASP "CSV injection" guidance), and always through
``write_string``, so nothing in a ledger workbook is ever a formula. Numbers
stay numbers. Drop-down lists live on a hidden sheet; protected columns are
locked with sheet protection (no password: it guards against slips, the
integrity hash in :mod:`.worksheet` guards against edits).
"""

from __future__ import annotations

import datetime as dt
import numbers
from pathlib import Path

import pandas as pd

from ..core.cells import safe_frame, safe_text  # noqa: F401  (one implementation)
from .store import LedgerError, LedgerImportError

def write_sheet(path, sheets: dict[str, pd.DataFrame], *, lists: dict[str, tuple] | None = None,
                locked: set[str] | None = None, money: set[str] | None = None,
                notes: dict[str, list[str]] | None = None, list_rows: int = 500,
                widths: dict[str, float] | None = None, wrap: set[str] | None = None) -> Path:
    """Write frames to one .xlsx (xlsxwriter, constant memory per row).

    Parameters
    ----------
    sheets : dict
        Sheet name -> frame (headers as shown).
    lists : dict
        Header -> allowed values: a drop-down on that column (any sheet).
    locked : set of headers, optional
        When given, sheets are protected and only the other columns are editable.
    money : set of headers
        Numeric columns shown as ``#,##0.00`` (values in 元).
    notes : dict
        Sheet name -> lines printed above the header (title, cut-off date).
    list_rows : int
        Rows that get drop-downs on a sheet with fewer data rows (blank templates).
    widths : dict, optional
        Header -> column width (characters); default 14 for money, 18 otherwise.
    wrap : set of headers, optional
        Text columns whose cells wrap (long evidence).
    """
    import xlsxwriter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lists, money, notes = lists or {}, money or set(), notes or {}
    widths, wrap = widths or {}, wrap or set()
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "nan_inf_to_errors": True})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True, "locked": True})
    text_locked = wb.add_format({"locked": True, "num_format": "@"})
    text_open = wb.add_format({"locked": False, "num_format": "@", "bg_color": "#FFF2CC"})
    money_locked = wb.add_format({"locked": True, "num_format": "#,##0.00"})
    money_open = wb.add_format({"locked": False, "num_format": "#,##0.00", "bg_color": "#FFF2CC"})
    wrap_locked = wb.add_format({"locked": True, "num_format": "@", "text_wrap": True, "valign": "top"})
    wrap_open = wb.add_format({"locked": False, "num_format": "@", "text_wrap": True, "valign": "top",
                               "bg_color": "#FFF2CC"})
    list_sheet, list_refs = None, {}
    for sheet, frame in sheets.items():
        ws = wb.add_worksheet(_sheet_name(sheet))
        top = len(notes.get(sheet, []))
        for i, line in enumerate(notes.get(sheet, [])):
            ws.write_string(i, 0, safe_text(line))
        cols = list(frame.columns)
        safe = safe_frame(frame)
        for j, col in enumerate(cols):
            ws.write_string(top, j, safe_text(col), head)
            is_open = locked is not None and col not in locked
            if col in money:
                fmt = money_open if is_open else money_locked
            elif col in wrap:
                fmt = wrap_open if is_open else wrap_locked
            else:
                fmt = text_open if is_open else text_locked
            ws.set_column(j, j, widths.get(col, 14 if col in money else 18), fmt)
            for i, v in enumerate(safe[col].tolist(), start=top + 1):
                if v is None or (not isinstance(v, str) and pd.isna(v)):
                    continue                      # the column format covers blank cells
                elif isinstance(v, numbers.Number) and not isinstance(v, bool):
                    ws.write_number(i, j, float(v), fmt)
                else:
                    ws.write_string(i, j, str(v), fmt)
            if col in lists:
                if list_sheet is None:
                    list_sheet = wb.add_worksheet("_lists")
                    list_sheet.hide()
                if col not in list_refs:
                    k = len(list_refs)
                    for r, value in enumerate(lists[col]):
                        list_sheet.write_string(r, k, safe_text(value))
                    letter = xlsxwriter.utility.xl_col_to_name(k)
                    list_refs[col] = f"=_lists!${letter}$1:${letter}${max(len(lists[col]), 1)}"
                last = top + max(len(frame), list_rows)
                ws.data_validation(top + 1, j, last, j, {
                    "validate": "list", "source": list_refs[col], "error_title": "无效的值",
                    "error_message": "请从下拉列表中选择。"})
        ws.freeze_panes(top + 1, 0)
        if cols:
            ws.autofilter(top, 0, top + max(len(frame), 1), len(cols) - 1)
        if locked is not None:
            ws.protect("", {"autofilter": True, "sort": False, "format_columns": True})
    wb.close()
    return path


def read_rows(path, sheet: str, *, header_row: int = 1) -> pd.DataFrame:
    """Read one sheet's table: object columns as typed in Excel, plus ``_excel_row``.

    Raises
    ------
    LedgerError
        The file cannot be read or has no such sheet.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a bad file
        raise LedgerError(f"无法读取工作簿 {path}：{exc}") from exc
    try:
        if sheet not in wb.sheetnames:
            raise LedgerError(f"{path} 中没有工作表“{sheet}”；现有：{'、'.join(wb.sheetnames)}")
        rows = list(wb[sheet].iter_rows(min_row=header_row, values_only=True))
    finally:
        wb.close()
    if not rows:
        raise LedgerImportError(f"{path} 的工作表“{sheet}”是空的。", [(header_row, "无表头")])
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    body = [r[:len(header)] for r in rows[1:]]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    frame["_excel_row"] = range(header_row + 1, header_row + 1 + len(frame))
    blank = frame.drop(columns="_excel_row").map(_is_blank).all(axis=1) if len(frame) else pd.Series(dtype=bool)
    return frame[~blank].reset_index(drop=True)


def _is_blank(v) -> bool:
    return v is None or (isinstance(v, str) and v.strip() == "") or (isinstance(v, float) and pd.isna(v))


def cell_text(v) -> str:
    """A read cell as the text it was written as (hashing, comparing)."""
    if _is_blank(v):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dt.datetime, pd.Timestamp)):
        return pd.Timestamp(v).strftime("%Y-%m-%d")
    return str(v)


def import_report(path, problems: list[tuple[int, str]]) -> str:
    """Chinese per-row report for a rejected import."""
    lines = [f"{Path(path).name} 有 {len({r for r, _ in problems})} 行有误，未导入任何内容："]
    lines += [f"  第{r}行：{m}" for r, m in sorted(problems, key=lambda p: p[0])]
    return "\n".join(lines)


def _sheet_name(name: str) -> str:
    bad = '[]:*?/\\'
    clean = "".join("_" if c in bad else c for c in str(name))
    return clean[:31] or "Sheet"

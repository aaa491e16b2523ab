"""Writing office files: .xlsx (xlsxwriter, else openpyxl write-only), .xls (xlwt), CSV.

A sheet is a frame whose columns are the office's Chinese headers and whose
cells are already formatted the way that office writes them (text IDs, text or
numeric amounts, dates as text). Optional layout noise — a title row and a
blank row above the header, a 合计 row and a 制表人/审核人 footer below the
data — is written on request and reported as expected quarantine rows
``(file, sheet, row, reason)`` with 1-based Excel row numbers.
"""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path

import pandas as pd

try:  # xlsxwriter is much faster for big sheets; openpyxl is the fallback
    import xlsxwriter
except ImportError:  # pragma: no cover - depends on the environment
    xlsxwriter = None

XLS_MAX_ROWS = 65536
XLSX_MAX_ROWS = 1048576
FIXED_TIME = datetime(2022, 1, 20, 9, 0, 0)


class Sheet:
    """One sheet to write: ``frame`` plus layout options."""

    def __init__(self, name: str, frame: pd.DataFrame, title: str | None = None,
                 total_col: str | None = None, footer: bool = False):
        self.name, self.frame, self.title = name, frame, title
        self.total_col, self.footer = total_col, footer

    def layout(self) -> tuple[list[list], list[tuple[int, str]]]:
        """Rows to write (lists of cells) and the expected quarantine rows (row, reason)."""
        rows: list[list] = []
        q: list[tuple[int, str]] = []
        width = len(self.frame.columns)
        if self.title:
            rows.append([self.title] + [None] * (width - 1))
            q.append((1, "title_or_footer"))
            rows.append([None] * width)
            q.append((2, "blank_row"))
        rows.append(list(self.frame.columns))
        data = self.frame.astype(object).where(self.frame.notna(), None).values.tolist()
        rows.extend(data)
        if self.total_col:
            tot = [None] * width
            tot[0] = "合计"
            col = list(self.frame.columns).index(self.total_col)
            vals = pd.to_numeric(self.frame[self.total_col], errors="coerce")
            tot[col] = round(float(vals.sum()), 2)
            rows.append(tot)
            q.append((len(rows), "total_row"))
        if self.footer:
            rows.append(["制表人：王丽    审核人：陈建国    制表日期：2022年1月18日"] + [None] * (width - 1))
            q.append((len(rows), "title_or_footer"))
        return rows, q


def split_rows(frame: pd.DataFrame, limit: int) -> list[pd.DataFrame]:
    """Chunks of at most ``limit`` data rows (room left for header and layout rows)."""
    n = max(1, math.ceil(len(frame) / limit))
    return [frame.iloc[i * limit:(i + 1) * limit] for i in range(n)]


def write_xlsx(path: Path, sheets: list[Sheet]) -> list[tuple]:
    """Write an .xlsx workbook; returns expected quarantine rows ``(file, sheet, row, reason)``."""
    out = []
    if xlsxwriter is not None:
        wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False,
                                             "strings_to_formulas": False, "strings_to_urls": False})
        wb.set_properties({"created": FIXED_TIME, "author": "蔡甸区残联"})
        for sh in sheets:
            ws = wb.add_worksheet(sh.name)
            rows, q = sh.layout()
            for r, row in enumerate(rows):
                ws.write_row(r, 0, row)
            out += [(path.name, sh.name, row, reason) for row, reason in q]
        wb.close()
        return out
    from openpyxl import Workbook  # pragma: no cover
    wb = Workbook(write_only=True)
    for sh in sheets:
        ws = wb.create_sheet(sh.name)
        rows, q = sh.layout()
        for row in rows:
            ws.append(row)
        out += [(path.name, sh.name, row, reason) for row, reason in q]
    wb.properties.created = wb.properties.modified = FIXED_TIME
    wb.save(str(path))
    return out


def write_xls(path: Path, sheets: list[Sheet]) -> list[tuple]:
    """Write an old-style .xls workbook (xlwt; 65,536 rows per sheet at most)."""
    import xlwt
    wb = xlwt.Workbook(encoding="utf-8")
    out = []
    for sh in sheets:
        ws = wb.add_sheet(sh.name)
        rows, q = sh.layout()
        if len(rows) > XLS_MAX_ROWS:
            raise ValueError(f"{path.name}/{sh.name}: {len(rows)} rows exceed the .xls limit")
        for r, row in enumerate(rows):
            wr = ws.row(r)
            for c, v in enumerate(row):
                if v is not None:
                    wr.write(c, v)
            if r % 1000 == 0:
                ws.flush_row_data()
        out += [(path.name, sh.name, row, reason) for row, reason in q]
    wb.save(str(path))
    return out


def write_csv(path: Path, frame: pd.DataFrame, encoding: str = "gbk") -> list[tuple]:
    """Write a CSV file in ``encoding`` (GBK for the old payout systems)."""
    frame.to_csv(path, index=False, encoding=encoding, lineterminator="\r\n")
    return []

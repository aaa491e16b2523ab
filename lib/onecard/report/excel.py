"""Excel and CSV exports that are safe to open.

- Identifier columns are written as text cells (an 18-digit ID written as a
  number loses its last digits in Excel: REAL_WORLD_CASES B01).
- Cells that Excel would read as a formula (starting with ``=``, ``+``, ``-``,
  ``@``, tab or CR) are prefixed with an apostrophe-like guard (OWASP CSV
  injection guidance), in both .xlsx and .csv; numeric columns are untouched.
- CSV is UTF-8 with BOM so Excel on Chinese Windows opens it correctly.
- Excel holds at most 32,767 characters in a cell: longer text is cut and says so
  in the cell (:data:`TRUNCATION_NOTE`), and the cuts are counted and logged.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.cells import FORMULA_PREFIXES, guard_formulas  # noqa: F401  (re-exported)
from ..core.log import logger

#: Excel's limit on the characters of one cell.
XLSX_CELL_LIMIT = 32_767
TRUNCATION_NOTE = "…（超出Excel单元格上限，已截断，完整内容见CSV）"


def fit_cells(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Copy of ``frame`` with text longer than :data:`XLSX_CELL_LIMIT` cut so that text
    plus :data:`TRUNCATION_NOTE` fits one cell; returns ``(frame, cells cut)``."""
    out, cut = frame.copy(), 0
    keep = XLSX_CELL_LIMIT - len(TRUNCATION_NOTE)
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            continue
        s = out[col].astype("string")
        long = (s.str.len() > XLSX_CELL_LIMIT).fillna(False)
        if long.any():
            cut += int(long.sum())
            out[col] = s.where(~long, s.str[:keep] + TRUNCATION_NOTE)
    return out, cut


def defuse(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with text cells that look like formulas prefixed by ``'``
    (:func:`onecard.core.cells.guard_formulas`, the one formula guard)."""
    return guard_formulas(frame)


def write_csv(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` as UTF-8-with-BOM CSV, formula cells defused."""
    path = Path(path)
    defuse(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def write_xlsx(frames: dict[str, pd.DataFrame] | pd.DataFrame, path: Path,
               headers: dict[str, str] | None = None, stats: dict | None = None) -> Path:
    """Write one or more frames to an .xlsx, text cells as text, formulas defused.

    Parameters
    ----------
    frames : DataFrame or dict of sheet name -> DataFrame
    headers : dict, optional
        Column renames for display (e.g. Chinese headers).
    stats : dict, optional
        Receives ``truncated``: cells cut at :data:`XLSX_CELL_LIMIT` (see :func:`fit_cells`).
    """
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    path = Path(path)
    if isinstance(frames, pd.DataFrame):
        frames = {"Sheet1": frames}
    wb = Workbook(write_only=True)
    truncated = 0
    for sheet, frame in frames.items():
        ws = wb.create_sheet(title=str(sheet)[:31])
        safe, cut = fit_cells(defuse(frame))
        truncated += cut
        cols = list(safe.columns)
        for i, _ in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(i)].width = 18
        ws.freeze_panes = "A2"
        if cols:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(cols))}{len(safe) + 1}"
        ws.append([(headers or {}).get(c, c) for c in cols])
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in cols]
        for row in safe.itertuples(index=False, name=None):
            ws.append([None if _missing(v) else (int(v) if num and float(v).is_integer() else v)
                       if num else str(v) for v, num in zip(row, numeric)])
    wb.save(path)
    if truncated:
        logger.warning("%s: %d cells longer than %d characters cut (full text in the CSV)",
                       path.name, truncated, XLSX_CELL_LIMIT)
    if stats is not None:
        stats["truncated"] = truncated
    return path


def _missing(value) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False

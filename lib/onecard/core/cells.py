"""Text cells that are safe in Excel and CSV: the one formula-injection guard.

Every text cell that Excel (or a CSV consumer) could read as a formula — one
starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return — gets a
leading apostrophe (OWASP "CSV injection" guidance); CR becomes LF and other
control characters are dropped (Excel would store them as ``_x000D_`` escapes).
Numbers and booleans are left alone. Used by the report exports and the ledger.
"""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["FORMULA_PREFIXES", "safe_text", "safe_frame", "guard_formulas"]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"


def safe_text(value) -> str:
    """Text for a cell: a formula-like string gets a leading ``'``; CR becomes LF and other
    control characters are dropped (Excel would store them as ``_x000D_`` escapes)."""
    text = str(value)
    text = "'" + text if text.startswith(FORMULA_PREFIXES) else text
    return re.sub(_CONTROL, "", text.replace("\r\n", "\n").replace("\r", "\n"))


def guard_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy with every text column as ``string`` and formula-like cells prefixed by ``'``
    (numbers and booleans untouched). The one formula guard (report exports, ledger)."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_numeric_dtype(out[col]) or pd.api.types.is_bool_dtype(out[col]):
            continue
        s = out[col].astype("string")
        risky = s.str.startswith(FORMULA_PREFIXES).fillna(False)
        out[col] = s.where(~risky, "'" + s)
    return out


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy with every text column passed through :func:`safe_text` (vectorised)."""
    out = guard_formulas(frame)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.StringDtype):  # the text columns guard_formulas made
            s = out[col].str.replace("\r\n", "\n", regex=False).str.replace("\r", "\n", regex=False)
            out[col] = s.str.replace(_CONTROL, "", regex=True)
    return out

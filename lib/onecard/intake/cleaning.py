"""Text cleaning of raw cells: control, bidi and zero-width characters; overlong cells.

Applied to every text cell of a sheet right after reading, before the header band is
looked for, so headers and values are cleaned alike and nothing downstream (parquet,
Excel export, PDF, HTML) ever sees them:

- removed: NUL and the other C0 controls except tab/line feed/carriage return
  (those are whitespace, handled by each normaliser), DEL and the C1 controls
  (U+007F-U+009F), bidi embeddings/overrides/isolates and marks (U+202A-U+202E,
  U+2066-U+2069, U+200E, U+200F, U+061C), zero-width characters (U+200B-U+200D,
  U+2060-U+2064, U+FEFF);
- a cell longer than ``limits.max_cell_chars`` is cut to that length.

Each changed row carries the flag ``control_chars`` and/or ``cell_truncated``; the
sheet's statistics go to its ``intake.json`` entry. The original cells are kept for
quarantine's ``raw`` JSON, where these characters appear escaped (``\\u202e``), never
raw, so a text viewer shows them and they cannot reorder the line.

Source: issue 10 (one NUL byte in a name aborted ``export_findings``; U+202E).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .limits import IntakeLimits

__all__ = ["CONTROL_CHARS", "clean_sheet", "escape_controls"]

#: Characters removed from text cells.
CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
                           "\u2060-\u2064\u2066-\u2069\ufeff]")


def escape_controls(text: str) -> str:
    """``text`` with every :data:`CONTROL_CHARS` character written as ``\\uXXXX`` (valid inside JSON strings)."""
    return CONTROL_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _clean_column(col: pd.Series, max_chars: int) -> tuple[pd.Series, np.ndarray, np.ndarray, int] | None:
    """Clean one column once per distinct value.

    Returns None when nothing changed, else ``(new column, control mask, truncated
    mask, characters removed)``.
    """
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    if not len(uniq):
        return None
    texts = [u for u in uniq if isinstance(u, str)]
    if not texts or (CONTROL_CHARS.search("\n".join(texts)) is None and max(map(len, texts)) <= max_chars):
        return None  # the common case: one C-level scan, no per-value work
    new_vals, ctrl, trunc, removed = [], [], [], []
    for u in uniq:
        if not isinstance(u, str):
            new_vals.append(u), ctrl.append(False), trunc.append(False), removed.append(0)
            continue
        v, k = CONTROL_CHARS.subn("", u)
        cut = len(v) > max_chars
        if cut:
            v = v[:max_chars]
        new_vals.append(v), ctrl.append(k > 0), trunc.append(cut), removed.append(k)
    ctrl_u, trunc_u = np.array(ctrl + [False]), np.array(trunc + [False])
    if not (ctrl_u.any() or trunc_u.any()):
        return None
    arr = np.empty(len(uniq) + 1, dtype=object)
    arr[:-1] = new_vals
    arr[-1] = None
    out = pd.Series(np.where(codes >= 0, arr[codes], col.to_numpy(dtype=object)), index=col.index, dtype=object)
    removed_rows = np.array(removed + [0])[codes]
    return out, ctrl_u[codes], trunc_u[codes], int(removed_rows.sum())


def clean_sheet(sheet, limits: IntakeLimits) -> dict:
    """Clean ``sheet.grid`` in place (see module docstring); keep the original grid if changed.

    Parameters
    ----------
    sheet : RawSheet
        Its ``grid`` is replaced by the cleaned grid; ``original`` and ``cell_flags``
        are set when a cell changed.
    limits : IntakeLimits

    Returns
    -------
    dict
        ``{"control_chars": {"cells", "chars", "rows"}, "cells_truncated": {"cells", "rows"}}``
        with only the parts that occurred (empty when nothing changed).
    """
    grid = sheet.grid
    if grid.empty:
        return {}
    n = len(grid)
    ctrl_rows, trunc_rows = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
    ctrl_cells = trunc_cells = chars = 0
    cleaned = {}
    for c in grid.columns:
        res = _clean_column(grid[c], limits.max_cell_chars)
        if res is None:
            continue
        cleaned[c], ctrl, trunc, k = res
        ctrl_rows |= ctrl
        trunc_rows |= trunc
        ctrl_cells, trunc_cells, chars = ctrl_cells + int(ctrl.sum()), trunc_cells + int(trunc.sum()), chars + k
    if not cleaned:
        return {}
    sheet.original = grid
    new = grid.copy()
    for c, col in cleaned.items():
        new[c] = col
    sheet.grid = new
    flags = np.where(ctrl_rows & trunc_rows, "control_chars;cell_truncated",
                     np.where(ctrl_rows, "control_chars", np.where(trunc_rows, "cell_truncated", "")))
    changed = np.flatnonzero(ctrl_rows | trunc_rows)
    sheet.cell_flags = {int(grid.index[i]): str(flags[i]) for i in changed}
    stats = {}
    if ctrl_cells:
        stats["control_chars"] = {"cells": ctrl_cells, "chars": chars, "rows": int(ctrl_rows.sum())}
    if trunc_cells:
        stats["cells_truncated"] = {"cells": trunc_cells, "rows": int(trunc_rows.sum()),
                                    "max_cell_chars": limits.max_cell_chars}
    return stats

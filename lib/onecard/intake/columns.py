"""Apply the value normalisers to whole columns, once per distinct value.

Source: DATA_CONTRACT.md (Identifiers and values); schema.TABLES kinds.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from . import ids, places, values

__all__ = ["normalise_column", "ColumnResult", "KIND_FUNCTIONS", "QUARANTINE_REASONS"]

#: Kind -> normaliser(raw, typed) returning (value, flags, reason).
KIND_FUNCTIONS = {
    "id": lambda raw, typed: ids.normalise_id(raw),
    "masked_id": lambda raw, typed: (values.normalise_text(raw)[0] and ids.clean_text_id(raw), (), None),
    "cert": lambda raw, typed: ids.normalise_cert(raw),
    "account": lambda raw, typed: ids.normalise_account(raw),
    "phone": lambda raw, typed: values.normalise_phone(raw),
    "bank": lambda raw, typed: places.normalise_bank(raw),
    "name": lambda raw, typed: values.normalise_name(raw),
    "address": lambda raw, typed: places.normalise_address(raw),
    "township": lambda raw, typed: places.match_township(raw),
    "village": lambda raw, typed: values.normalise_text(raw),
    "month": values.parse_month,
    "date": values.parse_date,
    "int": lambda raw, typed: values.parse_small_int(raw),
    "category": lambda raw, typed: values.parse_category(raw),
    "status": lambda raw, typed: values.map_code(raw, values.PAYOUT_STATUS_TEXT, "status_unknown"),
    "cert_status": lambda raw, typed: values.map_code(raw, values.CERT_STATUS_TEXT, "cert_status_unknown"),
    "hukou": lambda raw, typed: values.map_code(raw, values.HUKOU_TEXT, "hukou_unknown"),
    "text": lambda raw, typed: values.normalise_text(raw),
}

#: Normaliser reason -> quarantine reason, per kind (None: keep the row, flag it).
QUARANTINE_REASONS = {
    ("id", "id_precision_lost"): "id_precision_lost",
    ("account", "account_precision_lost"): "account_precision_lost",
    ("money", "unparseable_amount"): "unparseable_amount",
    ("month", "unparseable"): "unparseable_period",
}


class ColumnResult:
    """Normalised column: ``values`` (list per distinct value), ``codes`` (row -> distinct).

    Attributes
    ----------
    codes : np.ndarray of int
        Row -> index into the distinct values (-1 = missing cell).
    uniq_values, uniq_flags, uniq_reasons : list
        Per distinct value: canonical value, ``;``-joined flags, reason or None.
    uniq_raw : np.ndarray
        The distinct raw values.
    """

    def __init__(self, codes, uniq_raw, uniq_values, uniq_flags, uniq_reasons):
        self.codes = codes
        self.uniq_raw = uniq_raw
        self.uniq_values = uniq_values
        self.uniq_flags = uniq_flags
        self.uniq_reasons = uniq_reasons

    def take(self, items: list, fill=None) -> np.ndarray:
        arr = np.empty(len(items) + 1, dtype=object)
        arr[:-1] = items
        arr[-1] = fill
        return arr[self.codes]

    def row_values(self) -> np.ndarray:
        return self.take(self.uniq_values)

    def row_flags(self) -> np.ndarray:
        return self.take(self.uniq_flags, "")

    def row_reasons(self) -> np.ndarray:
        return self.take(self.uniq_reasons)


def normalise_column(col: pd.Series, kind: str, typed: bool, scale: int = 1) -> ColumnResult:
    """Normalise one raw column of ``kind`` (a schema kind).

    Parameters
    ----------
    col : pd.Series
        Raw cells (object).
    kind : str
        Schema kind, e.g. ``id``, ``money``, ``month``.
    typed : bool
        Cells come from a typed Excel sheet (numbers are numbers).
    scale : int
        Money scale from the header unit (10000 for 万元).

    Returns
    -------
    ColumnResult
    """
    codes, uniq = pd.factorize(col, use_na_sentinel=True)
    if kind == "money":
        fn = partial(lambda raw, typed, s: values.parse_money(raw, s), s=scale)
    else:
        fn = KIND_FUNCTIONS[kind]
    vals, flags, reasons = [], [], []
    for u in uniq:
        v, f, r = fn(u, typed)
        vals.append(v)
        flags.append(";".join(f))
        reasons.append(QUARANTINE_REASONS.get((kind, r), None) if r else None)
        if r and (kind, r) not in QUARANTINE_REASONS:
            flags[-1] = ";".join([*f, r]) if r not in f else flags[-1]
    return ColumnResult(codes, uniq, vals, flags, reasons)

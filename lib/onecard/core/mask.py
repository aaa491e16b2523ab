"""Masking for public-audience outputs (公开版): IDs, accounts and phones.

The plan requires that ID numbers and bank accounts are masked in anything
published (FOCUS_PROBLEMS.md, "Typical cases"). Functions are vectorised over
a Series of text and leave missing values missing.

- ID ``420114195803120138`` -> ``4201**********0138`` (first 4, last 4 kept)
- account ``6228480000000012344`` -> ``6228***********2344``
- phone ``13900000001`` -> ``139****0001``
- name ``张三丰`` -> ``张*丰``; two characters ``张三`` -> ``张*``
"""

from __future__ import annotations

import pandas as pd


def _keep_ends(values: pd.Series, head: int, tail: int) -> pd.Series:
    s = values.astype("string")
    n = s.str.len()
    short = n <= head + tail
    stars = (n - head - tail).clip(lower=0).fillna(0).astype(int).map(lambda k: "*" * k)
    out = s.str[:head] + stars.astype("string") + s.str[-tail:]
    return out.where(~short, s)


def mask_id(values: pd.Series) -> pd.Series:
    """Mask resident IDs: keep the first 4 and last 4 characters."""
    return _keep_ends(values, 4, 4)


def mask_account(values: pd.Series) -> pd.Series:
    """Mask account numbers: keep the first 4 and last 4 digits."""
    return _keep_ends(values, 4, 4)


def mask_phone(values: pd.Series) -> pd.Series:
    """Mask phone numbers: keep the first 3 and last 4 digits."""
    return _keep_ends(values, 3, 4)


def mask_name(values: pd.Series) -> pd.Series:
    """Mask names: keep the first and (for 3+ characters) the last character."""
    s = values.astype("string")
    n = s.str.len()
    two = s.str[:1] + "*"
    longer = s.str[:1] + (n - 2).clip(lower=1).fillna(1).astype(int).map(lambda k: "*" * k).astype("string") + s.str[-1:]
    return longer.where(n > 2, two.where(n == 2, s))


#: Which masker applies to which column name in findings and tables.
COLUMN_MASKS = {
    "person_id": mask_id, "holder_id": mask_id, "guardian_id": mask_id,
    "official_id": mask_id, "relative_id": mask_id, "household_head_id": mask_id,
    "account_no": mask_account, "phone": mask_phone, "name": mask_name,
    "holder_name": mask_name, "account_name": mask_name,
}


def mask_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``frame`` with every identifying column masked.

    Findings' ``subject_id`` and ``related_ids`` hold IDs, accounts or phones
    depending on ``subject_type``; they are masked as such, and the free-text
    ``evidence`` has every run of 11+ digits masked as an identifier.
    """
    out = frame.copy()
    for col, fn in COLUMN_MASKS.items():
        if col in out.columns:
            out[col] = fn(out[col])
    if "evidence" in out.columns:
        out["evidence"] = out["evidence"].astype("string").str.replace(
            r"(\d{4})\d{3,}(\d{4})", lambda m: m.group(1) + "****" + m.group(2), regex=True)
    for col in ("subject_id", "related_ids"):
        if col in out.columns:
            out[col] = out[col].astype("string").str.replace(
                r"(\d{3,4})[\dX]{3,}([\dX]{4})", lambda m: m.group(1) + "****" + m.group(2), regex=True)
    return out


def mask_value(kind: str, value: str) -> str:
    """Mask one identifier for public output, with the same rules as the Series maskers.

    ``person`` (resident ID) and ``account``: first 4 + ``*`` + last 4;
    ``phone``: first 3 + ``*`` + last 4. Short or other values unchanged.
    """
    value = "" if value is None else str(value)
    fn = {"person": mask_id, "account": mask_account, "phone": mask_phone}.get(kind)
    return str(fn(pd.Series([value], dtype="string"))[0]) if fn and value else value

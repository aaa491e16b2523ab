"""The standard findings frame every rule returns, and its stable ids.

Columns (``DATA_CONTRACT.md``, "Findings"): see :data:`FINDINGS_COLUMNS`.
``amount_fen`` is integer fen; ``period_start``/``period_end`` are ``YYYY-MM``
text; ``months`` is a count of months.
"""

from __future__ import annotations

import hashlib

import pandas as pd

FINDINGS_COLUMNS = [
    "finding_id", "rule_id", "clause", "severity", "township", "village", "subject_type",
    "subject_id", "related_ids", "name", "subsidy", "period_start", "period_end", "months",
    "amount_fen", "evidence", "run_id",
]

SUBJECT_TYPES = ("person", "account", "phone", "address", "ring", "subsidy", "batch")
SEVERITIES = ("high", "medium", "low")


def finding_id(rule_id: str, subject_id: str, subsidy: str, period_start: str) -> str:
    """Stable id: first 16 hex chars of SHA-1 of ``rule_id|subject_id|subsidy|period_start``.

    Blank values are given as empty strings. The id survives re-runs on the
    same data, so investigators' decisions can be keyed on it.
    """
    key = "|".join(str(v) if v is not None and not pd.isna(v) else ""
                   for v in (rule_id, subject_id, subsidy, period_start))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def ring_id(member_ids) -> str:
    """A ring's id: ``R`` + first 12 hex chars of SHA-1 of its sorted member ids joined by ``;``."""
    key = ";".join(sorted(str(m) for m in member_ids))
    return "R" + hashlib.sha1(key.encode("utf-8")).hexdigest()[:12]


def empty_findings() -> pd.DataFrame:
    """An empty findings frame with the standard columns and dtypes."""
    return finalize(pd.DataFrame(columns=FINDINGS_COLUMNS))


def finalize(frame: pd.DataFrame, run_id: str = "") -> pd.DataFrame:
    """Bring a rule's output to the standard findings frame.

    Fills missing standard columns, sets dtypes (text as ``string``, ``months``
    and ``amount_fen`` as ``Int64``), computes ``finding_id`` where missing and
    orders the columns. Extra columns are dropped. Vectorised except for the
    hashing, which runs once per finding row (findings are few).

    Parameters
    ----------
    frame : DataFrame
        At least ``rule_id``, ``subject_type`` and ``subject_id``.
    run_id : str
        Stamped into ``run_id`` where that column is blank.
    """
    out = frame.copy()
    for col in FINDINGS_COLUMNS:
        if col not in out.columns:
            out[col] = pd.NA
    for col in ("months", "amount_fen"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype("Int64")
    text_cols = [c for c in FINDINGS_COLUMNS if c not in ("months", "amount_fen")]
    for col in text_cols:
        out[col] = out[col].astype("string")
    if run_id:
        out["run_id"] = out["run_id"].fillna(run_id).replace("", run_id)
    missing = out["finding_id"].isna() | (out["finding_id"] == "")
    if missing.any():
        sub = out.loc[missing]
        out.loc[missing, "finding_id"] = [
            finding_id(r, s, b, p) for r, s, b, p in zip(
                sub["rule_id"], sub["subject_id"], sub["subsidy"], sub["period_start"])
        ]
    return out[FINDINGS_COLUMNS].reset_index(drop=True)


def cite(frame: pd.DataFrame, limit: int = 3) -> str:
    """Evidence citation for the source rows of ``frame``: ``文件/工作表 第N行``.

    Uses the provenance columns ``_file``, ``_sheet``, ``_row``; at most
    ``limit`` rows are cited, then ``等N行``.
    """
    if frame.empty or "_file" not in frame.columns:
        return ""
    rows = frame[["_file", "_sheet", "_row"]].drop_duplicates()
    parts = []
    for f, s, r in rows.head(limit).itertuples(index=False):
        sheet = f"/{s}" if isinstance(s, str) and s else ""
        parts.append(f"{f}{sheet} 第{r}行")
    more = f" 等{len(rows)}行" if len(rows) > limit else ""
    return "（来源：" + "；".join(parts) + more + "）"


def yuan(fen) -> str:
    """Format integer fen as yuan with two decimals: ``80000`` -> ``"800.00"``."""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    fen = abs(fen)
    return f"{sign}{fen // 100:,}.{fen % 100:02d}"

"""Find findings: filters, search, sorting, and Chinese tables rendered as HTML.

Tables are rendered here (:func:`html_table`), not by pandas' ``to_html`` with
display options, so no cell is ever elided with "…" and every value is escaped.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.findings import yuan
from ..core.labels import FINDING_COLUMNS_ZH, SEVERITY_ZH, SUBJECT_TYPE_ZH
from ..core.mask import Publisher, mask_frame
from .data import ExplorerData, resolve_query

__all__ = ["Filters", "find", "display_findings", "html_table", "RESULT_COLUMNS", "ALL",
           "SORT_KEYS", "sort_findings"]

ALL = "（全部）"
STATUS_ZH = "台账状态"
#: Columns of the results table, in order (machine names; headers from FINDING_COLUMNS_ZH).
RESULT_COLUMNS = ["finding_id", "severity", "township", "village", "rule_id", "clause", "subject_type",
                  "subject_id", "name", "subsidy", "period_start", "period_end", "amount_fen", "status",
                  "evidence"]
AMOUNT_YUAN = "涉及金额（元）"
#: Sort keys offered to the user: Chinese label -> column.
SORT_KEYS = {"风险等级": "severity", "涉及金额": "amount_fen", "街道(乡镇)": "township",
             "规则编号": "rule_id", "起始年月": "period_start", STATUS_ZH: "status", "姓名": "name"}
_SEV_ORDER = {"high": 0, "medium": 1, "low": 2}


@dataclass
class Filters:
    """What the user chose in Find. ``None``/blank/``ALL`` means no filter; money in 元."""

    township: str | None = None
    rule: str | None = None          # a rule_id or a clause
    severity: str | None = None      # high / medium / low
    status: str | None = None        # a ledger status
    min_yuan: float | None = None
    max_yuan: float | None = None
    query: str = ""


def _given(v) -> bool:
    return v is not None and v != "" and v != ALL


def find(data: ExplorerData, filters: Filters) -> tuple[pd.DataFrame, set[str]]:
    """Findings matching every filter, highest severity and money first.

    Returns
    -------
    findings : DataFrame
        Rows of ``data.findings`` (unmasked; mask for display with
        :func:`display_findings`).
    nodes : set of str
        Persons/accounts/phones the search text named (``person:<id>`` ...).
    """
    f = data.findings
    keep = np.ones(len(f), dtype=bool)
    if _given(filters.township):
        keep &= (f["township"] == filters.township).fillna(False).to_numpy(bool)
    if _given(filters.rule):
        keep &= ((f["rule_id"] == filters.rule) | (f["clause"] == filters.rule)).fillna(False).to_numpy(bool)
    if _given(filters.severity):
        keep &= (f["severity"] == filters.severity).fillna(False).to_numpy(bool)
    if _given(filters.status):
        keep &= (f["status"] == filters.status).fillna(False).to_numpy(bool)
    amount = f["amount_fen"].astype("Float64")
    if filters.min_yuan is not None and not pd.isna(filters.min_yuan):
        keep &= (amount >= round(float(filters.min_yuan) * 100)).fillna(False).to_numpy(bool)
    if filters.max_yuan is not None and not pd.isna(filters.max_yuan):
        keep &= (amount <= round(float(filters.max_yuan) * 100)).fillna(False).to_numpy(bool)
    nodes: set[str] = set()
    if filters.query and filters.query.strip():
        nodes, mask = resolve_query(data, filters.query)
        keep &= mask.to_numpy(bool)
    return sort_findings(f[keep]), nodes


def sort_findings(f: pd.DataFrame, by: str | None = None, ascending: bool = True) -> pd.DataFrame:
    """Sort findings by a column (``SORT_KEYS`` values); default severity then money."""
    if by in (None, "", "severity"):
        order = f["severity"].map(_SEV_ORDER).fillna(3)
        if not ascending:
            order = -order
        return (f.assign(_o=order.to_numpy(), _a=-f["amount_fen"].fillna(0).to_numpy())
                 .sort_values(["_o", "_a", "finding_id"], kind="stable").drop(columns=["_o", "_a"]))
    return f.sort_values([by, "finding_id"], ascending=[ascending, True], kind="stable",
                         na_position="last")


def display_findings(f: pd.DataFrame, audience: str = "internal",
                     columns: list[str] | None = None, names=None) -> pd.DataFrame:
    """Findings for reading: Chinese headers, money in 元, severity and subject type in
    Chinese, masked for ``audience="public"`` (``names``: the person names that may
    appear in the evidence sentences, masked there too; see
    :meth:`~.data.ExplorerData.names_in`)."""
    cols = [c for c in (columns or RESULT_COLUMNS) if c in f.columns]
    out = f[cols].copy()
    if audience == "public":  # the one masking implementation: names in free text, digit runs, ids
        out = mask_frame(out, Publisher(list(names or ())))
        out = out.drop(columns=["public_no"], errors="ignore")  # a finding id is a hash of an identifier
    if "severity" in out:
        out["severity"] = out["severity"].map(SEVERITY_ZH).fillna(out["severity"])
    if "subject_type" in out:
        out["subject_type"] = out["subject_type"].map(SUBJECT_TYPE_ZH).fillna(out["subject_type"])
    if "amount_fen" in out:
        out["amount_fen"] = out["amount_fen"].map(lambda v: "" if pd.isna(v) else yuan(v))
    headers = {**FINDING_COLUMNS_ZH, "amount_fen": AMOUNT_YUAN, "status": STATUS_ZH}
    return out.rename(columns=headers).astype(object).where(out.notna().to_numpy(), "")


def html_table(frame: pd.DataFrame, max_rows: int = 200, css_class: str = "oc-table",
               row_ids: list[str] | None = None, total: int | None = None) -> str:
    """An HTML table of every column and the full text of every cell (escaped).

    At most ``max_rows`` rows are shown; the caption says how many there are.
    ``row_ids`` become ``data-id`` attributes (the browser test picks rows by them);
    ``total`` is the row count to report when ``frame`` is already a head.
    """
    n = len(frame) if total is None else total
    shown = frame.head(max_rows)
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in shown.columns)
    ids = list(row_ids or [])[:max_rows]
    rows = []
    for i, rec in enumerate(shown.astype(object).itertuples(index=False, name=None)):
        attr = f' data-id="{html.escape(str(ids[i]))}"' if i < len(ids) else ""
        cells = "".join(f"<td>{html.escape('' if _missing(v) else str(v))}</td>" for v in rec)
        rows.append(f"<tr{attr}>{cells}</tr>")
    caption = f"共 {n} 条" + (f"，显示前 {len(shown)} 条" if n > len(shown) else "")
    style = ("<style>.oc-table{border-collapse:collapse;font-size:12px}"
             ".oc-table th,.oc-table td{border:1px solid #ccc;padding:2px 6px;text-align:left;"
             "vertical-align:top;white-space:nowrap}"
             ".oc-table td:last-child{white-space:normal;min-width:28em;max-width:48em}"
             ".oc-table th{background:#eef2f7}</style>")
    return (f"{style}<table class='{css_class}'><caption style='text-align:left'>{caption}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def _missing(v) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False

"""``findings.xlsx`` as investigators read it (issue 12 item 2).

The CSV (``findings.csv``) stays the machine format: canonical column names,
money in integer fen, codes (``high``, ``person``). The workbook is for people:

- Chinese headers (:data:`onecard.core.labels.FINDING_COLUMNS_ZH`), the Chinese rule
  title beside the rule code, severity and subject type in Chinese;
- money in 元 as number cells (value = fen / 100, format ``#,##0.00``), never 分;
- evidence wrapped, column widths that fit the content (capped), header frozen
  with a filter; every text cell formula-safe (:func:`onecard.core.cells.safe_frame`).

With a ledger (internal audience only), the findings whose ledger item is open
go to the sheet ``核实工作表`` built by the ledger's own worksheet code
(:func:`onecard.ledger.worksheet.worksheet_frame`: protected columns, 版本,
校验码 and the fill-in columns 处理状态, 核实情况/处理结果, 整改措施, 责任单位,
整改期限, 认定金额(元) …), so ``onecard ledger import RUN/findings.xlsx`` imports
it exactly like a worksheet. Findings already decided or not in the ledger are
listed on the sheet ``其他疑点`` (read only).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.labels import FINDING_COLUMNS_ZH, SEVERITY_ZH, SUBJECT_TYPE_ZH

__all__ = ["findings_sheet", "write_findings_xlsx", "rule_titles", "MONEY_HEADER", "TITLE_HEADER"]

MONEY_HEADER = "涉及金额（元）"
TITLE_HEADER = "规则名称"
WRAP = {FINDING_COLUMNS_ZH["evidence"], FINDING_COLUMNS_ZH["related_ids"]}
MAX_WIDTH, EVIDENCE_WIDTH = 40, 70
#: Findings columns the ledger worksheet already shows (its protected columns).
SHOWN_BY_WORKSHEET = ("finding_id", "rule_id", "clause", "township", "village", "subject_id", "name",
                      "subsidy", "period_start", "period_end", "amount_fen", "evidence")


def findings_sheet(findings: pd.DataFrame, titles: dict[str, str] | None = None) -> pd.DataFrame:
    """The findings with Chinese headers and values, money in 元 (float, fen / 100).

    Parameters
    ----------
    findings : DataFrame
        Findings columns (any subset; e.g. a public run's 公开编号 instead of ``finding_id``).
    titles : dict, optional
        rule_id -> Chinese title (the catalogue); a ``规则名称`` column follows ``规则编号``.

    Returns
    -------
    DataFrame
        Columns in the findings order, renamed by ``FINDING_COLUMNS_ZH``; ``amount_fen``
        becomes ``涉及金额（元）``.
    """
    out = findings.copy()
    if "severity" in out:
        out["severity"] = out["severity"].map(SEVERITY_ZH).fillna(out["severity"])
    if "subject_type" in out:
        out["subject_type"] = out["subject_type"].map(SUBJECT_TYPE_ZH).fillna(out["subject_type"])
    heads = {**FINDING_COLUMNS_ZH, "public_no": "公开编号"}
    if "amount_fen" in out:
        out["amount_fen"] = pd.to_numeric(out["amount_fen"], errors="coerce").astype("Float64") / 100
        heads["amount_fen"] = MONEY_HEADER
    if titles is not None and "rule_id" in out:
        at = out.columns.get_loc("rule_id") + 1
        out.insert(at, "_title", out["rule_id"].map(titles).fillna(""))
        heads["_title"] = TITLE_HEADER
    if "months" in out:
        out["months"] = pd.to_numeric(out["months"], errors="coerce").astype("Int64")
    return out.rename(columns=heads)


def rule_titles() -> dict[str, str]:
    """rule_id -> Chinese title, from the rule catalogue (the one source of rule text)."""
    from ..rules.catalogue import catalogue_frame

    cat = catalogue_frame()
    return dict(zip(cat["rule_id"], cat["title_zh"]))


def _widths(frame: pd.DataFrame) -> dict[str, float]:
    """Column widths (characters) that fit header and content; CJK counts double."""
    out = {}
    for col in frame.columns:
        text = frame[col].astype("string").fillna("")
        wide = text.str.count(r"[^\x00-\xff]")
        length = (text.str.len() + wide).max() if len(text) else 0
        head = len(str(col)) * 2
        cap = EVIDENCE_WIDTH if col in WRAP else MAX_WIDTH
        out[col] = float(min(max(int(length or 0), head, 6) + 2, cap))
    return out


def write_findings_xlsx(findings: pd.DataFrame, path: str | Path, *, titles: dict[str, str] | None = None,
                        ledger=None, stats: dict | None = None) -> Path:
    """Write ``findings.xlsx``.

    Parameters
    ----------
    findings : DataFrame
        The findings to list (already masked for a public run).
    path : path-like
    titles : dict, optional
        rule_id -> Chinese title.
    ledger : onecard.ledger.Ledger, optional
        When given, open items get the fill-in sheet ``核实工作表`` (see module doc).
    stats : dict, optional
        Receives ``truncated``: text cells cut at Excel's 32,767-character limit
        (:func:`onecard.report.excel.fit_cells`; the cell says so, the CSV keeps all).

    Returns
    -------
    Path
    """
    from ..ledger.cells import write_sheet
    from ..ledger.worksheet import FILL_COLUMNS, HASH_COLUMN, MONEY_COLUMNS, PROTECTED, SHEET

    from .excel import fit_cells

    shown, cut = fit_cells(findings_sheet(findings, titles))
    if stats is not None:
        stats["truncated"] = cut
    id_head = FINDING_COLUMNS_ZH["finding_id"]
    notes = pd.DataFrame({"列名": list(shown.columns),
                          "说明": [_column_note(c) for c in shown.columns]})
    money = {MONEY_HEADER}
    if ledger is None or id_head not in shown:
        sheets = {"疑点清单": shown, "列说明": notes}
        write_sheet(path, sheets, money=money, widths=_widths(shown), wrap=WRAP)
        return Path(path)
    from ..ledger.worksheet import worksheet_frame

    item_of = _item_ids(ledger, findings["finding_id"])
    work = worksheet_frame(ledger, finding_ids=set(item_of.values()))
    item = shown[id_head].map(item_of)
    open_rows = item.isin(work["疑点编号"]).to_numpy(bool)
    in_worksheet = {FINDING_COLUMNS_ZH[c] for c in SHOWN_BY_WORKSHEET} | {MONEY_HEADER}
    extra = shown[open_rows].drop(columns=[c for c in shown.columns if c in in_worksheet or c in work.columns])
    readable = list(extra.columns)
    extra = extra.assign(_item=item[open_rows].to_numpy())
    merged = work.merge(extra, left_on="疑点编号", right_on="_item", how="left").drop(columns="_item")
    protected = list(PROTECTED)
    at = protected.index("条款") + 1
    first = protected[:at] + readable + protected[at:] + [HASH_COLUMN]
    merged = merged[first + [c for c in merged.columns if c not in first]]
    locked = set(first)
    sheets = {SHEET: merged, "其他疑点": shown[~open_rows], "列说明": notes}
    widths = {**_widths(merged), **_widths(shown), **{c: 16.0 for c in FILL_COLUMNS}}
    write_sheet(path, sheets, locked=locked, money=money | MONEY_COLUMNS, widths=widths,
                wrap=WRAP | {"疑点说明"})
    return Path(path)


def _item_ids(ledger, finding_ids: pd.Series) -> dict[str, str]:
    """Run finding_id -> the ledger item's finding_id (its own id or via ``aliases``)."""
    ids = [str(x) for x in finding_ids.dropna().unique()]
    if not ids:
        return {}
    a = ledger.frame("SELECT a.finding_id AS run_id, i.finding_id AS item_id FROM aliases a "
                     "JOIN items i USING (item_id)")
    direct = ledger.frame("SELECT finding_id FROM items")
    out = dict.fromkeys(set(ids) & set(direct["finding_id"]))
    out = {k: k for k in out}
    a = a[a["run_id"].isin(ids)]
    out.update({r: i for r, i in zip(a["run_id"], a["item_id"]) if r not in out})
    return out


def _column_note(header: str) -> str:
    if header == MONEY_HEADER:
        return "单位：元（两位小数）；同一笔钱可能涉及多条规则，各行金额不能直接相加"
    if header == TITLE_HEADER:
        return "规则目录中的中文名称"
    if header == FINDING_COLUMNS_ZH["evidence"]:
        return "比对的数值、政策依据和引用的原始行（文件、工作表、行号）"
    return ""

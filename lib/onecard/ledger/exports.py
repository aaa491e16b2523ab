"""Monthly report, stage summary (due 7/15) and annual summary (due 12/15).

All figures are the ledger *as of the cut-off date*: each item's status and
money are those of its last history row on or before the cut-off (history is
append-only, so a report can be re-made later and gives the same numbers).
The deadline used for 逾期 is likewise the last one recorded by the cut-off.

- 疑点: items 待核实 or 核实中; 问题: cases (问题) with at least one item from 属实 on.
- money involved (涉及金额): :func:`money_by_category` over items not 不属实,
  plus manual items' amounts in the category given when registered;
  confirmed/recovered: the items' recorded amounts (integer fen, shown in 元).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd

from .cells import write_sheet
from .money import CATEGORY_OF_RULE, money_by_category
from .store import Ledger, LedgerError
from .workflow import (
    CLOSED,
    CONFIRMED,
    PROBLEM_STATUSES,
    RECTIFYING,
    REFERRAL_DONE,
    REFERRED,
    REJECTED,
    STATUSES,
    SUSPECT_STATUSES,
    overdue_mask,
)

KINDS = {"month": "月度报送", "stage": "阶段总结", "annual": "年度总结"}
DUE = {"stage": "7月15日前", "annual": "12月15日前"}


def state_at(ledger: Ledger, cutoff: str) -> pd.DataFrame:
    """Every item that existed at ``cutoff`` (``YYYY-MM-DD``), with ``status``,
    ``money_confirmed_fen``, ``money_recovered_fen`` and ``deadline`` as of then."""
    end = f"{cutoff} 23:59:59"
    hist = ledger.frame("SELECT history_id, item_id, at, to_status, fields, money_confirmed_fen, "
                        "money_recovered_fen FROM history WHERE at <= ? ORDER BY history_id", (end,))
    last = hist.drop_duplicates("item_id", keep="last").set_index("item_id")
    items = ledger.frame("SELECT * FROM items").set_index("item_id")
    items = items.loc[items.index.intersection(last.index)].copy()
    items["status"] = last["to_status"]
    items["money_confirmed_fen"] = last["money_confirmed_fen"].astype("Int64")
    items["money_recovered_fen"] = last["money_recovered_fen"].astype("Int64")
    with_deadline = hist[hist["fields"].str.contains('"deadline"', regex=False)]
    deadline = pd.Series({i: json.loads(f)["deadline"][1] for i, f in
                          zip(with_deadline["item_id"], with_deadline["fields"])}, dtype="object")
    items["deadline"] = deadline.reindex(items.index)
    items["category"] = items["rule_id"].map(CATEGORY_OF_RULE).fillna(items["money_category"])
    return items.reset_index()


def _window(kind: str, month: str | None, cutoff: str | None) -> tuple[str, str, str]:
    if kind not in KINDS:
        raise LedgerError(f"报表类型“{kind}”无效，可选：月度(month)、阶段(stage)、年度(annual)。")
    if kind == "month":
        if not month:
            raise LedgerError("月度报表需要 --month，如 2021-06。")
        try:
            p = pd.Period(month, freq="M")
        except (ValueError, TypeError) as exc:
            raise LedgerError(f"月份“{month}”无效，应为 YYYY-MM。") from exc
        start, end = p.start_time.strftime("%Y-%m-%d"), p.end_time.strftime("%Y-%m-%d")
        return start, end, cutoff or end
    if not cutoff:
        raise LedgerError(f"{KINDS[kind]}需要 --cutoff 截止日期，如 {dt.date.today().year}-07-10。")
    try:
        c = pd.Timestamp(cutoff)
    except ValueError as exc:
        raise LedgerError(f"截止日期“{cutoff}”无效，应为 YYYY-MM-DD。") from exc
    return f"{c.year}-01-01", c.strftime("%Y-%m-%d"), c.strftime("%Y-%m-%d")


def report_tables(ledger: Ledger, *, kind: str = "month", month: str | None = None,
                  cutoff: str | None = None) -> dict[str, pd.DataFrame]:
    """The report's tables (money in fen), keyed ``by_township``, ``by_clause``,
    ``movements``, ``money``, ``items``; plus ``meta`` (one row: start, end, cutoff)."""
    start, end, cutoff = _window(kind, month, cutoff)
    items = state_at(ledger, cutoff)
    items["overdue"] = overdue_mask(items, cutoff)
    hist = ledger.frame("SELECT h.*, i.finding_id, i.township, i.clause, i.rule_id FROM history h "
                        "JOIN items i USING (item_id) WHERE h.at >= ? AND h.at <= ? ORDER BY h.history_id",
                        (start, f"{min(end, cutoff)} 23:59:59"))
    moves = hist[hist["from_status"].fillna("") != hist["to_status"]]
    tables = {"by_township": _summary(items, moves, "township"), "by_clause": _summary(items, moves, "clause"),
              "movements": moves, "money": _money(ledger, items), "items": items,
              "meta": pd.DataFrame([{"kind": kind, "start": start, "end": end, "cutoff": cutoff}])}
    return tables


def _summary(items: pd.DataFrame, moves: pd.DataFrame, by: str) -> pd.DataFrame:
    items = items.assign(**{by: items[by].fillna("（未填）")})
    g = items.groupby(by)
    out = pd.DataFrame({"suspects": g["status"].apply(lambda s: s.isin(SUSPECT_STATUSES).sum())})
    problems = items[items["status"].isin(PROBLEM_STATUSES)]
    out["problem_cases"] = problems.groupby(by)["case_id"].nunique()
    for s in (CONFIRMED, REJECTED, RECTIFYING, CLOSED, REFERRED, REFERRAL_DONE):
        out[s] = g["status"].apply(lambda x, s=s: (x == s).sum())
    out["overdue"] = g["overdue"].sum()
    out["new_this_period"] = moves[moves["from_status"].isna()].groupby(by).size()
    out["closed_this_period"] = moves[moves["to_status"] == CLOSED].groupby(by).size()
    out["referred_this_period"] = moves[moves["to_status"] == REFERRED].groupby(by).size()
    out["confirmed_fen"] = g["money_confirmed_fen"].sum()
    out["recovered_fen"] = g["money_recovered_fen"].sum()
    out = out.fillna(0).astype("int64").reset_index()
    total = out.drop(columns=by).sum().to_frame().T.assign(**{by: "合计"})
    return pd.concat([out, total[out.columns]], ignore_index=True)


def _money(ledger: Ledger, items: pd.DataFrame) -> pd.DataFrame:
    live = items[items["status"] != REJECTED]
    data = live[live["kind"] == "finding"].assign(finding_id=lambda d: d["item_id"].astype(str))
    rows = ledger.frame("SELECT item_id, tbl AS 'table', file AS _file, sheet AS _sheet, row AS _row, "
                        "amount_fen FROM item_rows")
    rows = rows.assign(finding_id=rows["item_id"].astype(str))
    involved = money_by_category(data, rows if len(rows) else None).by_township
    manual = live[(live["kind"] == "manual") & live["money_category"].notna()]
    manual = manual.groupby(["township", "money_category"], as_index=False)["amount_fen"].sum() \
        .rename(columns={"money_category": "category"})
    involved = pd.concat([involved, manual], ignore_index=True).groupby(["township", "category"])["amount_fen"].sum()
    dec = items.assign(category=items["category"].fillna("未分类")).groupby(["township", "category"])[
        ["money_confirmed_fen", "money_recovered_fen"]].sum()
    out = pd.concat([involved.rename("involved_fen"), dec], axis=1).fillna(0).astype("int64").reset_index()
    return out.rename(columns={"money_confirmed_fen": "confirmed_fen", "money_recovered_fen": "recovered_fen"})


_SUMMARY_HEAD = {"township": "街道(乡镇)", "clause": "条款", "suspects": "疑点（待核实+核实中）",
                 "problem_cases": "问题数（属实起，按问题计）", CONFIRMED: "属实", REJECTED: "不属实",
                 RECTIFYING: "整改中", CLOSED: "已整改销号", REFERRED: "已移交", REFERRAL_DONE: "移交办结",
                 "overdue": "逾期", "new_this_period": "本期新增", "closed_this_period": "本期销号",
                 "referred_this_period": "本期移交", "confirmed_fen": "认定金额(元)",
                 "recovered_fen": "追回金额(元)", "category": "资金类别", "involved_fen": "涉及金额(元)"}
_ITEM_HEAD = {"finding_id": "编号", "sources": "来源", "clause": "条款", "rule_id": "规则", "village": "村(社区)",
              "subject_id": "对象编号", "name": "姓名", "subsidy": "补贴项目", "period_start": "起始月",
              "period_end": "终止月", "amount_fen": "涉及金额(元)", "status": "状态", "overdue": "逾期",
              "responsible_unit": "责任单位", "responsible_person": "责任人", "measure": "整改措施",
              "deadline": "整改期限", "money_confirmed_fen": "认定金额(元)", "money_recovered_fen": "追回金额(元)",
              "referral_organ": "移交机关", "referral_ref": "移交文号"}


def _display(frame: pd.DataFrame, heads: dict) -> pd.DataFrame:
    out = frame[[c for c in heads if c in frame.columns]].copy()
    for c in out.columns:
        if c.endswith("_fen"):
            out[c] = out[c].astype("Float64") / 100
    if "overdue" in out and out["overdue"].dtype == bool:
        out["overdue"] = out["overdue"].map({True: "是", False: ""})
    return out.rename(columns=heads)


def export_report(ledger: Ledger, out_dir, *, kind: str = "month", month: str | None = None,
                  cutoff: str | None = None) -> Path:
    """Write the monthly / stage / annual report workbook; returns its path.

    Sheets: 说明, 汇总(按街道), 汇总(按条款), 资金分类, 本期变动, then one
    问题清单 per township. Money in 元 with two decimals.

    Raises
    ------
    LedgerError
        Bad month or cut-off, or ``--cutoff`` missing for stage/annual.
    """
    t = report_tables(ledger, kind=kind, month=month, cutoff=cutoff)
    meta = t["meta"].iloc[0]
    title = f"一卡通专项治理问题台账 {KINDS[kind]}" + (f"（{month}）" if kind == "month" else "")
    due = DUE.get(kind) or f"{(pd.Period(month, 'M') + 1).strftime('%Y年%m月')}20日前"
    notes = [title, f"统计区间：{meta['start']} 至 {meta['end']}；累计数截至 {meta['cutoff']}", f"报送时限：{due}",
             "疑点为待核实、核实中的条目；问题自“属实”起按问题（同一人、同一户或同一关联圈）计数；金额单位：元。"]
    moves = t["movements"].rename(columns={"at": "时间", "finding_id": "编号", "township": "街道(乡镇)",
                                           "clause": "条款", "rule_id": "规则", "from_status": "原状态",
                                           "to_status": "新状态", "by": "处理人", "note": "说明"})
    moves = moves[["时间", "编号", "街道(乡镇)", "条款", "规则", "原状态", "新状态", "处理人", "说明"]]
    sheets = {"说明": pd.DataFrame({"项目": ["报表", "统计区间", "累计截至", "报送时限", "状态"],
                                  "内容": [title, f"{meta['start']} 至 {meta['end']}", meta["cutoff"], due,
                                         "、".join(STATUSES)]}),
              "汇总(按街道)": _display(t["by_township"], _SUMMARY_HEAD),
              "汇总(按条款)": _display(t["by_clause"], _SUMMARY_HEAD),
              "资金分类": _display(t["money"], _SUMMARY_HEAD), "本期变动": moves}
    items = t["items"]
    for town, part in items[items["status"] != REJECTED].groupby(items["township"].fillna("（未填）")):
        sheets[f"问题清单-{town}"[:31]] = _display(part.sort_values(["status", "finding_id"]), _ITEM_HEAD)
    money_cols = {h for c, h in {**_SUMMARY_HEAD, **_ITEM_HEAD}.items() if c.endswith("_fen")}
    stem = f"问题台账月报_{month}" if kind == "month" else f"问题台账{KINDS[kind]}_截至{meta['cutoff']}"
    path = Path(out_dir) / f"{stem}.xlsx"
    write_sheet(path, sheets, money=money_cols, notes={k: notes for k in sheets if k != "说明"})
    return path


#: Public names of the display helpers, so other report formats (the stage and annual
#: summaries' HTML/PDF, :mod:`onecard.report.summary`) show exactly the workbook's figures.
SUMMARY_HEAD = _SUMMARY_HEAD
display_table = _display

"""Verification round-trip: a township's open items out to Excel and back.

The worksheet (sheet ``核实工作表``) has protected columns — what the ledger
says — and fill-in columns (:data:`FILL_COLUMNS`) with drop-downs. Each row
carries the item's ``版本`` (version) and a ``校验码``: an HMAC-SHA256, keyed by
the ledger's own secret, of the protected cells as written. Import checks every
row before writing anything:

- unknown ``疑点编号`` or the same id twice;
- protected cells edited (the 校验码 no longer matches);
- a stale row: the item's version changed since the export (decided elsewhere);
- a bad value (date, money, organ, status name);
- an illegal transition or a missing required field (:data:`FIELD_TABLE`).

Any problem rejects the whole file with a Chinese per-row report
(:class:`LedgerImportError`). A row whose item is 待核实 and whose chosen status
lies beyond 核实中 passes through 核实中 first (two history rows): filling in a
verification result means verification took place. A blank fill-in cell changes
nothing (a worksheet cannot clear a field).
"""

from __future__ import annotations

import hashlib
import hmac
import numbers

import pandas as pd

from .cells import cell_text, import_report, read_rows, safe_text, write_sheet
from .store import Ledger, LedgerError, LedgerImportError
from .workflow import (
    FIELDS,
    OPEN_STATUSES,
    PENDING,
    REFERRAL_ORGANS,
    STATUSES,
    VERIFYING,
    apply_change,
    check_transition,
    parse_field,
)

SHEET = "核实工作表"
PROTECTED = {"疑点编号": "finding_id", "版本": "version", "街道(乡镇)": "township", "村(社区)": "village",
             "规则": "rule_id", "条款": "clause", "对象编号": "subject_id", "姓名": "name",
             "补贴项目": "subsidy", "期间": "period", "涉及金额(元)": "amount", "疑点说明": "evidence",
             "当前状态": "status"}
HASH_COLUMN = "校验码"
AMOUNT_COLUMN = "涉及金额(元)"
#: Fill-in column -> ledger field (``status`` is the target status).
FILL_COLUMNS = {"处理状态": "status", "核实情况/处理结果": "outcome", "责任单位": "responsible_unit",
                "责任人": "responsible_person", "整改措施": "measure", "整改期限": "deadline",
                "认定金额(元)": "money_confirmed_fen", "追回金额(元)": "money_recovered_fen",
                "移交机关": "referral_organ", "移交日期": "referral_date", "移交文号": "referral_ref",
                "销号日期": "closed_on"}
NOTE_COLUMNS = ("备注", "填报人")
#: Number cells in 元 (``#,##0.00``).
MONEY_COLUMNS = {AMOUNT_COLUMN, "认定金额(元)", "追回金额(元)"}
MEASURES = ("停发并追回资金", "补发应发资金", "更正基础信息", "完善审批手续", "变更为本人账户",
            "退还收取的费用", "移交相关部门处理", "其他（在备注中说明）")


def row_hash(key: str, cells: list[str]) -> str:
    """Integrity hash of a row's protected cells (as written), 20 hex characters."""
    msg = "\x1f".join(cells).encode("utf-8")
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()[:20]


def worksheet_frame(ledger: Ledger, *, township: str | None = None, finding_ids=None) -> pd.DataFrame:
    """The worksheet rows: protected columns, 校验码, fill-in columns prefilled.

    Open items (待核实, 核实中, 属实, 整改中) of ``township`` (all when None) or the
    given ids. Returned text is already formula-safe (it is what is hashed).
    """
    sql = f"SELECT * FROM items WHERE status IN ({','.join('?' * len(OPEN_STATUSES))})"
    params: list = list(OPEN_STATUSES)
    if township:
        sql += " AND township = ?"
        params.append(township)
    items = ledger.frame(sql + " ORDER BY village, finding_id", params)
    if finding_ids is not None:
        items = items[items["finding_id"].isin(list(finding_ids))]
    period = items["period_start"].fillna("") + "~" + items["period_end"].fillna("")
    shown = pd.DataFrame({
        "finding_id": items["finding_id"], "version": items["version"].astype(str),
        "township": items["township"], "village": items["village"], "rule_id": items["rule_id"],
        "clause": items["clause"], "subject_id": items["subject_id"], "name": items["name"],
        "subsidy": items["subsidy"], "period": period.where(period != "~", ""),
        "amount": "", "evidence": items["evidence"],
        "status": items["status"]}).fillna("").astype(str).map(safe_text)
    out = shown.rename(columns={v: k for k, v in PROTECTED.items()})
    # money is a number cell in 元 (two decimals shown); hashed as the text it reads back as
    out[AMOUNT_COLUMN] = (items["amount_fen"].fillna(0).astype("int64") / 100).to_numpy()
    key = ledger.meta("hash_key")
    out[HASH_COLUMN] = [row_hash(key, [cell_text(v) for v in r])
                        for r in out[list(PROTECTED)].itertuples(index=False, name=None)]
    out["处理状态"] = ""
    for col, field in FILL_COLUMNS.items():
        if field == "status":
            continue
        values = items[field].reset_index(drop=True)
        if FIELDS[field][1] == "fen":
            values = values.map(lambda v: None if pd.isna(v) else int(v) / 100)
        out[col] = values.astype(object).where(values.notna(), None).map(
            lambda v: safe_text(v) if isinstance(v, str) else v).to_numpy()
    for col in NOTE_COLUMNS:
        out[col] = ""
    return out


def write_worksheet(ledger: Ledger, path, *, township: str, units=None, measures=MEASURES) -> int:
    """Write the township's verification worksheet; returns the number of rows.

    Parameters
    ----------
    units : list of str, optional
        责任单位 drop-down (default: the township, 区残联 and units already in the ledger).
    """
    frame = worksheet_frame(ledger, township=township)
    known = ledger.frame("SELECT DISTINCT responsible_unit FROM items WHERE responsible_unit IS NOT NULL")
    units = list(units or dict.fromkeys([township, f"{township}残联", "区残联", *known["responsible_unit"]]))
    lists = {"处理状态": [s for s in STATUSES if s != PENDING], "责任单位": units, "整改措施": list(measures),
             "移交机关": list(REFERRAL_ORGANS)}
    write_sheet(path, {SHEET: frame}, lists=lists, locked=set(PROTECTED) | {HASH_COLUMN},
                money=MONEY_COLUMNS)
    return len(frame)


def import_worksheet(ledger: Ledger, path, *, by: str | None = None) -> dict:
    """Apply a filled worksheet; all or nothing.

    Parameters
    ----------
    by : str, optional
        Who records it when a row's 填报人 is blank.

    Returns
    -------
    dict
        ``changed`` (rows applied), ``unchanged`` (rows with nothing new).

    Raises
    ------
    LedgerImportError
        Any bad row; ``problems`` holds ``(excel_row, message)``; nothing written.
    """
    rows = read_rows(path, SHEET)
    need = [*PROTECTED, HASH_COLUMN, *FILL_COLUMNS]
    missing = [c for c in need if c not in rows.columns]
    if missing:
        raise LedgerImportError(f"{path} 不是核实工作表：缺少列 {'、'.join(missing)}", [(1, "表头不完整")])
    key = ledger.meta("hash_key")
    problems: list[tuple[int, str]] = []
    counts = {"changed": 0, "unchanged": 0}
    seen: set[str] = set()
    with ledger.write() as con:
        for rec in rows.to_dict("records"):
            n = rec["_excel_row"]
            fid = cell_text(rec["疑点编号"]).strip()
            if fid in seen:
                problems.append((n, f"疑点编号 {fid} 在文件中重复出现"))
                continue
            seen.add(fid)
            cur = con.execute("SELECT * FROM items WHERE finding_id = ?", (fid,))
            row = cur.fetchone()
            if row is None:
                problems.append((n, f"台账中没有疑点编号“{fid}”"))
                continue
            item = dict(zip([d[0] for d in cur.description], row))
            if row_hash(key, [cell_text(rec[c]) for c in PROTECTED]) != cell_text(rec[HASH_COLUMN]):
                problems.append((n, "受保护的列（或校验码）被修改，请使用原表填写"))
                continue
            if cell_text(rec["版本"]) != str(item["version"]):
                problems.append((n, (f"该疑点在导出后已被修改（导出时版本 {cell_text(rec['版本'])}，"
                                    f"当前版本 {item['version']}），请重新导出工作表")))
                continue
            try:
                target, fields = _read_fill(rec, item)
                who = cell_text(rec.get("填报人")) or by
                note = cell_text(rec.get("备注")) or None
                if target == item["status"] and not fields and not note:
                    counts["unchanged"] += 1
                    continue
                if not who:
                    raise LedgerError("请填写填报人")
                if item["status"] == PENDING and target not in (PENDING, VERIFYING):
                    check_transition(VERIFYING, target, item, fields)
                    apply_change(con, item, VERIFYING, {}, by=who, note="经核实工作表导入")
                if apply_change(con, item, target, fields, by=who, note=note):
                    counts["changed"] += 1
                else:
                    counts["unchanged"] += 1
            except LedgerError as exc:
                problems.append((n, str(exc)))
        if problems:   # raising inside the transaction rolls every row back
            raise LedgerImportError(import_report(path, problems), problems)
    return counts


def _read_fill(rec: dict, item: dict) -> tuple[str, dict]:
    target = cell_text(rec["处理状态"]).strip() or item["status"]
    if target not in STATUSES:
        raise LedgerError(f"处理状态“{target}”无效；可用状态：{'、'.join(STATUSES)}")
    fields = {}
    for col, field in FILL_COLUMNS.items():
        if field == "status":
            continue
        raw = rec.get(col)
        if raw is None or cell_text(raw).strip() == "":
            continue
        if FIELDS[field][1] == "fen" and isinstance(raw, numbers.Number):
            raw = float(raw)          # money cells are 元, never fen
        value = parse_field(field, raw if not isinstance(raw, str) else _unsafe(raw))
        if value != item.get(field):
            fields[field] = value
    return target, fields


def _unsafe(text: str) -> str:
    """Undo :func:`safe_text` on a fill-in cell written by us."""
    return text[1:] if text.startswith("'") and text[1:2] in ("=", "+", "-", "@", "\t", "\r") else text

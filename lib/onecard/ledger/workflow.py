"""Statuses, legal transitions and the FIELD TABLE; recording decisions.

Workflow (FOCUS_PROBLEMS.md, workflow step 2; issue 11)::

    待核实 → 核实中 → 属实 / 不属实
    属实 → 整改中 → 已整改销号
    属实 / 整改中 → 已移交 → 移交办结
    不属实 → 待核实   (only by a run, when the evidence changed)

逾期 (overdue) is derived, never stored: a deadline before the as-of date on an
item that is neither closed, rejected nor referred (:func:`overdue_mask`).

:data:`FIELD_TABLE` says which fields each target status requires. A required
field may already be on the item (set earlier) or be given with the change.
The CLI, the worksheet import and the explorer all check it through
:func:`check_transition`.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import re

import pandas as pd

from .store import Ledger, LedgerError, now_text

PENDING, VERIFYING, CONFIRMED, REJECTED = "待核实", "核实中", "属实", "不属实"
RECTIFYING, CLOSED, REFERRED, REFERRAL_DONE = "整改中", "已整改销号", "已移交", "移交办结"
STATUSES = (PENDING, VERIFYING, CONFIRMED, REJECTED, RECTIFYING, CLOSED, REFERRED, REFERRAL_DONE)
OVERDUE = "逾期"

#: Legal transitions by hand (CLI, worksheet, explorer).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    PENDING: (VERIFYING,),
    VERIFYING: (CONFIRMED, REJECTED),
    CONFIRMED: (RECTIFYING, REFERRED),
    RECTIFYING: (CLOSED, REFERRED),
    REFERRED: (REFERRAL_DONE,),
    REJECTED: (),
    CLOSED: (),
    REFERRAL_DONE: (),
}
#: Transitions only a run may make (evidence changed after a 不属实 decision).
RUN_TRANSITIONS: dict[str, tuple[str, ...]] = {REJECTED: (PENDING,)}

SUSPECT_STATUSES = (PENDING, VERIFYING)          # 疑点, reported in their own column
PROBLEM_STATUSES = (CONFIRMED, RECTIFYING, CLOSED, REFERRED, REFERRAL_DONE)   # 问题
OPEN_STATUSES = (PENDING, VERIFYING, CONFIRMED, RECTIFYING)
REFERRAL_ORGANS = ("纪检监察机关", "司法机关")

#: field -> (Chinese label, kind). Kinds: text, date, fen, organ.
FIELDS: dict[str, tuple[str, str]] = {
    "responsible_unit": ("责任单位", "text"),
    "responsible_person": ("责任人", "text"),
    "measure": ("整改措施", "text"),
    "deadline": ("整改期限", "date"),
    "outcome": ("核实情况/处理结果", "text"),
    "money_confirmed_fen": ("认定金额", "fen"),
    "money_recovered_fen": ("追回金额", "fen"),
    "referral_organ": ("移交机关", "organ"),
    "referral_date": ("移交日期", "date"),
    "referral_ref": ("移交文号", "text"),
    "referral_result": ("移交办理结果", "text"),
    "closed_on": ("销号日期", "date"),
}

#: THE FIELD TABLE: target status -> fields that must be known after the change.
FIELD_TABLE: dict[str, tuple[str, ...]] = {
    VERIFYING: (),
    CONFIRMED: ("outcome", "money_confirmed_fen"),
    REJECTED: ("outcome",),
    RECTIFYING: ("responsible_unit", "responsible_person", "measure", "deadline"),
    CLOSED: ("money_recovered_fen", "closed_on"),
    REFERRED: ("referral_organ", "referral_date", "referral_ref"),
    REFERRAL_DONE: ("referral_result",),
    PENDING: (),
}

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_field(field: str, value):
    """Validate and normalise one field value; ``None``/blank stays ``None``.

    ``fen`` fields take integer fen (int) or a yuan text (``"1,200.50"``, ``"1200元"``).

    Raises
    ------
    LedgerError
        Unknown field or a bad value; the message names the field in Chinese.
    """
    if field not in FIELDS:
        raise LedgerError(f"未知字段：{field}；可用字段：{'、'.join(FIELDS)}")
    label, kind = FIELDS[field]
    if value is None or (isinstance(value, float) and pd.isna(value)) or str(value).strip() == "":
        return None
    if kind == "fen":
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            return _nonneg(int(value), label)
        return parse_yuan(value, label)
    if kind == "date":
        if isinstance(value, (dt.date, dt.datetime, pd.Timestamp)):
            return pd.Timestamp(value).strftime("%Y-%m-%d")
        text = str(value).strip().replace("/", "-").replace(".", "-")
        try:
            if _DATE.match(text) or re.match(r"^\d{4}-\d{1,2}-\d{1,2}$", text):
                return dt.date(*map(int, text.split("-"))).isoformat()
        except ValueError:
            pass
        raise LedgerError(f"{label}“{value}”不是有效日期，应为 YYYY-MM-DD，如 2021-06-30。")
    text = str(value).strip()
    if kind == "organ" and text not in REFERRAL_ORGANS:
        raise LedgerError(f"{label}“{text}”无效，可选：{'、'.join(REFERRAL_ORGANS)}。")
    return text


def parse_yuan(value, label: str = "金额") -> int:
    """Yuan text or number -> integer fen, exact (no float arithmetic on the text)."""
    if isinstance(value, float):
        value = f"{value:.2f}" if round(value, 2) == value else repr(value)
    text = str(value).strip().replace(",", "").replace("，", "").replace("元", "").replace("￥", "").replace("¥", "")
    m = re.fullmatch(r"(\d+)(?:\.(\d{1,2}))?", text)
    if not m:
        raise LedgerError(f"{label}“{value}”不是有效金额，应为不小于 0 的元数，最多两位小数，如 1200.50。")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def _nonneg(value: int, label: str) -> int:
    if value < 0:
        raise LedgerError(f"{label}不能为负数。")
    return value


def allowed_next(status: str, *, by_run: bool = False) -> tuple[str, ...]:
    """Statuses reachable from ``status`` in one step."""
    extra = RUN_TRANSITIONS.get(status, ()) if by_run else ()
    return TRANSITIONS.get(status, ()) + extra


def check_transition(current: str, target: str, item_fields: dict, given: dict, *,
                     by_run: bool = False) -> None:
    """Refuse an illegal transition or one that lacks a required field.

    Raises
    ------
    LedgerError
        Names the allowed next statuses, or the missing fields (Chinese labels).
    """
    if target not in STATUSES:
        raise LedgerError(f"状态“{target}”无效；可用状态：{'、'.join(STATUSES)}。")
    if target != current:
        allowed = allowed_next(current, by_run=by_run)
        if target not in allowed:
            hint = "、".join(allowed) if allowed else "无（已是终态）"
            if current == REJECTED and target == PENDING:
                hint += "；不属实的疑点只在证据变化时由核查运行重新列为待核实"
            raise LedgerError(f"不能从“{current}”改为“{target}”；允许的下一状态：{hint}。")
    merged = {**{k: item_fields.get(k) for k in FIELDS}, **{k: v for k, v in given.items() if v is not None}}
    missing = [FIELDS[f][0] for f in FIELD_TABLE.get(target, ()) if merged.get(f) is None]
    if missing and target != current:
        raise LedgerError(f"改为“{target}”需要填写：{'、'.join(missing)}。")


def resolve(con, finding_id: str) -> dict:
    """The item row (as a dict) for a finding id or any of its aliases.

    Raises
    ------
    LedgerError
        No such id.
    """
    cur = con.execute("SELECT i.* FROM items i WHERE i.finding_id = ? UNION ALL "
                      "SELECT i.* FROM items i JOIN aliases a ON a.item_id = i.item_id "
                      "WHERE a.finding_id = ? LIMIT 1", (finding_id, finding_id))
    row = cur.fetchone()
    if row is None:
        raise LedgerError(f"台账中没有疑点编号 {finding_id}。")
    return dict(zip([d[0] for d in cur.description], row))


def apply_change(con, item: dict, target: str | None, fields: dict, *, by: str, note: str | None = None,
                 run_id: str | None = None, at: str | None = None, by_run: bool = False,
                 extra_changes: dict | None = None) -> dict:
    """Record one change of status and/or fields on ``item`` inside an open transaction.

    Bumps ``version``, writes one history row (who, when, from → to, note, the
    fields changed as ``{field: [old, new]}``). Returns the changed fields.
    ``extra_changes`` are non-decision columns (evidence) already validated.
    """
    if not by or not str(by).strip():
        raise LedgerError("请注明处理人（--by）。")
    target = target or item["status"]
    clean = {k: parse_field(k, v) for k, v in fields.items() if v is not None}
    check_transition(item["status"], target, item, clean, by_run=by_run)
    changes = {k: [item.get(k), v] for k, v in {**clean, **(extra_changes or {})}.items() if item.get(k) != v}
    if target == item["status"] and not changes and not note:
        return {}
    at = at or now_text()
    from_status = item["status"]
    sets = {k: v[1] for k, v in changes.items()}
    sets.update(status=target, updated_at=at)
    assignments = ", ".join(f"{k} = ?" for k in sets)
    con.execute(f"UPDATE items SET {assignments}, version = version + 1 WHERE item_id = ?",
                (*sets.values(), item["item_id"]))
    money = {k: sets.get(k, item.get(k)) for k in ("money_confirmed_fen", "money_recovered_fen")}
    con.execute("INSERT INTO history (item_id, at, by, run_id, from_status, to_status, note, fields, "
                "money_confirmed_fen, money_recovered_fen) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (item["item_id"], at, str(by), run_id, item["status"], target, note,
                 json.dumps(changes, ensure_ascii=False), money["money_confirmed_fen"],
                 money["money_recovered_fen"]))
    item.update(sets)
    item["version"] = item["version"] + 1
    return {**changes, "status": [from_status, target]} if from_status != target else changes or {"note": [None, note]}


def set_status(ledger: Ledger, finding_id: str, status: str | None = None, *, by: str,
               note: str | None = None, fields: dict | None = None, whole_case: bool = False,
               expected_version: int | None = None, at: str | None = None) -> list[str]:
    """Record a decision on one item, or on every item of its case.

    Parameters
    ----------
    finding_id : str
        The item's finding id or any alias.
    status : str, optional
        Target status (:data:`STATUSES`); ``None`` changes fields only.
    by : str
        Who records it (required).
    fields : dict
        Field values (:data:`FIELDS`); money in integer fen or yuan text.
    whole_case : bool
        Apply to every item of the case (问题) that is in the same status.
    expected_version : int, optional
        Refuse when the item changed since this version was read.

    Returns
    -------
    list of str
        The finding ids changed.

    Raises
    ------
    LedgerError
        Unknown id, illegal transition (allowed ones named), missing required
        field, bad value, stale version.
    """
    fields = fields or {}
    changed = []
    with ledger.write() as con:
        item = resolve(con, finding_id)
        if expected_version is not None and item["version"] != expected_version:
            raise LedgerError(f"疑点 {finding_id} 已被他人修改（读取时版本 {expected_version}，当前 {item['version']}），请刷新后重试。")
        targets = [item]
        if whole_case:
            cur = con.execute("SELECT * FROM items WHERE case_id = ? AND item_id != ? AND status = ?",
                              (item["case_id"], item["item_id"], item["status"]))
            cols = [d[0] for d in cur.description]
            targets += [dict(zip(cols, r)) for r in cur.fetchall()]
        for it in targets:
            if apply_change(con, it, status, fields, by=by, note=note, at=at):
                changed.append(it["finding_id"])
    return changed


def overdue_mask(items: pd.DataFrame, as_of: str | dt.date | None = None) -> pd.Series:
    """True where an item is 逾期: deadline before ``as_of`` (default today) and the
    item is still open (属实 or 整改中; 待核实/核实中 with a deadline too)."""
    as_of = pd.Timestamp(as_of or dt.date.today()).strftime("%Y-%m-%d")
    deadline = items["deadline"].astype("string")
    return (items["status"].isin(OPEN_STATUSES) & (deadline < as_of)).fillna(False).astype(bool)

"""The explorer's one adapter to the ledger (``onecard.ledger``): statuses, the field
table, recording a decision, history.

Every name the explorer needs from the ledger is imported here and nowhere else,
so a rename in the ledger is fixed in one place. The ledger decides: an illegal
transition or a missing required field is refused by the ledger's own check
(``workflow.check_transition``) with its Chinese reason, before anything is
written.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.errors import WorkbenchError

__all__ = ["DecisionError", "ledger_available", "STATUSES", "PENDING", "allowed_transitions",
           "required_fields", "record", "history", "statuses", "current", "LEDGER_MISSING_ZH"]

#: The ledger statuses (issue 11), in workflow order.
STATUSES = ("待核实", "核实中", "属实", "不属实", "整改中", "已整改销号", "已移交", "移交办结")
PENDING = STATUSES[0]
LEDGER_MISSING_ZH = "问题台账模块尚未安装，无法记录处理决定。"

HISTORY_COLUMNS_ZH = {"at": "时间", "by": "处理人", "from_status": "原状态", "to_status": "新状态",
                      "note": "说明", "fields": "填写内容"}


class DecisionError(WorkbenchError):
    """A decision was refused (illegal transition, missing field, bad value, no
    ledger); the message is the Chinese reason and nothing was written."""


def _ledger():
    """The ledger's modules ``(store, workflow, upsert)``, or None when not installed."""
    try:
        from ..ledger import store, upsert, workflow
    except ImportError:
        return None
    return store, workflow, upsert


def ledger_available() -> bool:
    return _ledger() is not None


def _require():
    mods = _ledger()
    if mods is None:
        raise DecisionError(LEDGER_MISSING_ZH)
    return mods


def allowed_transitions(item) -> tuple[str, ...]:
    """Statuses reachable by hand from an item (a dict with ``status``) or a status text."""
    status = item.get("status", PENDING) if isinstance(item, dict) else (item or PENDING)
    _, workflow, _ = _require()
    return tuple(workflow.allowed_next(status))


def required_fields(from_status: str, to_status: str) -> list[tuple[str, str, str]]:
    """Fields the ledger's field table requires to go ``from_status -> to_status``:
    ``[(field, Chinese label, kind)]`` (kinds ``text``, ``date``, ``fen``, ``organ``);
    empty when staying in the same status."""
    _, workflow, _ = _require()
    if from_status == to_status:
        return []
    return [(f, *workflow.FIELDS[f]) for f in workflow.FIELD_TABLE.get(to_status, ())]


def field_choices(field: str) -> tuple[str, ...]:
    """Allowed values of an ``organ`` field (the referral organs); empty otherwise."""
    _, workflow, _ = _require()
    return tuple(workflow.REFERRAL_ORGANS) if workflow.FIELDS[field][1] == "organ" else ()


def optional_fields() -> list[tuple[str, str, str]]:
    """Every decision field ``(field, label, kind)``."""
    _, workflow, _ = _require()
    return [(f, *v) for f, v in workflow.FIELDS.items()]


def _open(path, readonly=False):
    store, _, _ = _require()
    try:
        return store.open_ledger(Path(path), readonly=readonly)
    except store.LedgerError as exc:
        raise DecisionError(str(exc)) from exc


def current(ledger_path, finding_id: str) -> dict | None:
    """The ledger item of a finding (dict of its columns), or None when absent/no ledger."""
    if not ledger_path or not Path(ledger_path).exists() or _ledger() is None:
        return None
    _, workflow, _ = _ledger()
    led = _open(ledger_path, readonly=True)
    try:
        return workflow.resolve(led.con, str(finding_id))
    except Exception:  # unknown id: not in the ledger yet
        return None
    finally:
        led.close()


def statuses(ledger_path, finding_ids: pd.Series) -> pd.Series:
    """Ledger status per finding id (``待核实`` when the finding is not in the ledger)."""
    out = pd.Series(PENDING, index=finding_ids.index, dtype="string")
    if not ledger_path or not Path(ledger_path).exists() or _ledger() is None:
        return out
    led = _open(ledger_path, readonly=True)
    try:
        st = led.frame("SELECT a.finding_id, i.status FROM aliases a JOIN items i ON i.item_id = a.item_id "
                       "UNION SELECT finding_id, status FROM items")
    finally:
        led.close()
    st = st.drop_duplicates("finding_id").set_index("finding_id")["status"]
    return finding_ids.map(st).fillna(PENDING).astype("string")


def _ensure_items(led, upsert, findings: pd.DataFrame, finding_rows: pd.DataFrame | None,
                  run_id: str, period) -> None:
    """Bring the run's findings into the ledger (idempotent; never marks anything
    "not found again": no township is declared complete)."""
    upsert.upsert_run(led, findings, run_id=run_id or "explorer", period=tuple(period or ("", "")),
                      rule_status=None, townships_with_data=(), finding_rows=finding_rows)


def record(ledger_path, finding_id: str, to_status: str, fields: dict, by: str, note: str | None = None,
           *, findings: pd.DataFrame | None = None, finding_rows: pd.DataFrame | None = None,
           run_id: str = "", period=None) -> list[str]:
    """Record a decision on one finding in the ledger.

    Parameters
    ----------
    ledger_path : path
        The ledger file (the run manifest's ``ledger.path`` or one the user gave).
    finding_id : str
    to_status : str
        Target status (:data:`STATUSES`).
    fields : dict
        ``field -> value`` (money as 元 text or integer fen; dates ``YYYY-MM-DD``);
        blank values are ignored.
    by : str
        Who records it (required).
    findings : DataFrame, optional
        The run's findings: when the finding is not in the ledger yet, the run's
        findings are brought in first (only after the transition was checked).

    Returns
    -------
    list of str
        Finding ids changed.

    Raises
    ------
    DecisionError
        No ledger, no ledger path, illegal transition, missing field, bad value,
        no ``by``; nothing is written.
    """
    store, workflow, upsert = _require()
    if not ledger_path:
        raise DecisionError("未指定问题台账文件：请在运行清单中登记台账路径，或在此填写台账文件路径。")
    if not by or not str(by).strip():
        raise DecisionError("请填写处理人。")
    clean_given = {k: v for k, v in (fields or {}).items() if v is not None and str(v).strip() != ""}
    led = _open(ledger_path)
    try:
        try:
            parsed = {k: workflow.parse_field(k, v) for k, v in clean_given.items()}
            with led.write() as con:
                try:
                    item = workflow.resolve(con, str(finding_id))
                except store.LedgerError:
                    item = None
            if item is None:
                if findings is None or not (findings["finding_id"] == finding_id).any():
                    raise DecisionError(f"台账中没有疑点编号 {finding_id}。")
                workflow.check_transition(PENDING, to_status, {}, parsed)
                _ensure_items(led, upsert, findings.drop(columns=["status"], errors="ignore"),
                              finding_rows, run_id, period)
            return workflow.set_status(led, str(finding_id), to_status, by=str(by).strip(),
                                       note=note or None, fields=parsed)
        except store.LedgerError as exc:
            raise DecisionError(str(exc)) from exc
    finally:
        led.close()


def history(ledger_path, finding_id: str, raw: bool = False) -> pd.DataFrame:
    """The finding's history in the ledger, oldest first, Chinese headers
    (``时间, 处理人, 原状态, 新状态, 说明, 填写内容``), or the machine names
    (``at, by, from_status, to_status, note, fields``) with ``raw``; empty when absent."""
    empty = pd.DataFrame(columns=list(HISTORY_COLUMNS_ZH if raw else HISTORY_COLUMNS_ZH.values()))
    item = current(ledger_path, finding_id)
    if item is None:
        return empty
    led = _open(ledger_path, readonly=True)
    try:
        h = led.frame("SELECT at, by, from_status, to_status, note, fields FROM history "
                      "WHERE item_id = ? ORDER BY history_id", (int(item["item_id"]),))
    finally:
        led.close()
    return h if raw else h.rename(columns=HISTORY_COLUMNS_ZH).fillna("")

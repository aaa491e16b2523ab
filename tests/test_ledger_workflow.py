"""Workflow: every legal and illegal transition, the field table, history, cases, 逾期."""

from __future__ import annotations

import itertools
import sqlite3

import pytest
from onecard.core.errors import WorkbenchError
from onecard.ledger import FIELD_TABLE, STATUSES, LedgerError, open_ledger, set_status
from onecard.ledger.workflow import TRANSITIONS, overdue_mask, parse_field, parse_yuan
from test_ledger_fixtures import finding, frame, pid, upsert, walk

LEGAL = {("待核实", "核实中"), ("核实中", "属实"), ("核实中", "不属实"), ("属实", "整改中"), ("整改中", "已整改销号"),
         ("属实", "已移交"), ("整改中", "已移交"), ("已移交", "移交办结")}
# shortest path from 待核实 to each status
PATH = {"待核实": [], "核实中": ["核实中"], "属实": ["核实中", "属实"], "不属实": ["核实中", "不属实"],
        "整改中": ["核实中", "属实", "整改中"], "已整改销号": ["核实中", "属实", "整改中", "已整改销号"],
        "已移交": ["核实中", "属实", "已移交"], "移交办结": ["核实中", "属实", "已移交", "移交办结"]}


@pytest.fixture
def led(tmp_path):
    ledger = open_ledger(tmp_path / "l.sqlite")
    upsert(ledger, frame(finding()))
    yield ledger
    ledger.close()


def fid(led):
    return led.frame("SELECT finding_id FROM items")["finding_id"].iloc[0]


def test_transition_table_is_exactly_the_workflow():
    got = {(a, b) for a, bs in TRANSITIONS.items() for b in bs}
    assert got == LEGAL
    assert set(STATUSES) == set(TRANSITIONS) and len(STATUSES) == 8


@pytest.mark.parametrize("src,dst", [p for p in itertools.product(STATUSES, STATUSES) if p[0] != p[1]],
                         ids=lambda v: v)
def test_every_transition(led, src, dst):
    f = fid(led)
    walk(led, f, *PATH[src])
    assert led.frame("SELECT status FROM items")["status"].iloc[0] == src
    if (src, dst) in LEGAL:
        walk(led, f, dst)
        assert led.frame("SELECT status FROM items")["status"].iloc[0] == dst
        last = led.frame("SELECT from_status, to_status, by FROM history ORDER BY history_id DESC LIMIT 1").iloc[0]
        assert (last["from_status"], last["to_status"], last["by"]) == (src, dst, "张某")
    else:
        before = led.frame("SELECT COUNT(*) n FROM history")["n"].iloc[0]
        with pytest.raises(LedgerError) as exc:
            walk(led, f, dst)
        assert "允许的下一状态" in str(exc.value)
        allowed = TRANSITIONS[src]
        assert all(a in str(exc.value) for a in allowed)
        assert led.frame("SELECT status FROM items")["status"].iloc[0] == src
        assert led.frame("SELECT COUNT(*) n FROM history")["n"].iloc[0] == before


@pytest.mark.parametrize("target", [s for s in STATUSES if FIELD_TABLE[s]])
def test_field_table_required_fields(led, target):
    f = fid(led)
    prev = {"属实": "核实中", "不属实": "核实中", "整改中": "属实", "已整改销号": "整改中", "已移交": "属实",
            "移交办结": "已移交"}[target]
    walk(led, f, *PATH[prev])
    with pytest.raises(LedgerError) as exc:
        set_status(led, f, target, by="张某")
    from onecard.ledger.workflow import FIELDS
    for field in FIELD_TABLE[target]:
        if led.frame(f"SELECT {field} FROM items")[field].isna().iloc[0]:
            assert FIELDS[field][0] in str(exc.value)


def test_referral_needs_organ_date_number_and_valid_organ(led):
    f = fid(led)
    walk(led, f, "核实中", "属实")
    assert FIELD_TABLE["已移交"] == ("referral_organ", "referral_date", "referral_ref")
    with pytest.raises(LedgerError, match="纪检监察机关、司法机关"):
        set_status(led, f, "已移交", by="a", fields={"referral_organ": "公安局", "referral_date": "2021-06-01",
                                                    "referral_ref": "1号"})
    with pytest.raises(LedgerError, match="不是有效日期"):
        set_status(led, f, "已移交", by="a", fields={"referral_organ": "司法机关", "referral_date": "2021-13-01",
                                                    "referral_ref": "1号"})
    set_status(led, f, "已移交", by="a", fields={"referral_organ": "司法机关", "referral_date": "2021/6/1",
                                                "referral_ref": "1号"})
    row = led.frame("SELECT referral_organ, referral_date, referral_ref FROM items").iloc[0]
    assert tuple(row) == ("司法机关", "2021-06-01", "1号")


def test_rejected_cannot_be_reopened_by_hand(led):
    f = fid(led)
    walk(led, f, "核实中", "不属实")
    with pytest.raises(LedgerError, match="证据变化"):
        set_status(led, f, "待核实", by="a")


def test_errors_are_workbench_errors_and_by_required(led):
    assert issubclass(LedgerError, WorkbenchError)
    with pytest.raises(LedgerError, match="处理人"):
        set_status(led, fid(led), "核实中", by="")


def test_history_is_append_only_and_records_fields(led):
    f = fid(led)
    walk(led, f, "核实中", "属实")
    h = led.frame("SELECT * FROM history ORDER BY history_id")
    assert list(h["to_status"]) == ["待核实", "核实中", "属实"]
    assert '"money_confirmed_fen": [null, 30000]' in h["fields"].iloc[2]
    assert h["money_confirmed_fen"].iloc[2] == 30000
    with pytest.raises(sqlite3.IntegrityError):
        led.con.execute("UPDATE history SET by = 'x'")
    with pytest.raises(sqlite3.IntegrityError):
        led.con.execute("DELETE FROM history")


def test_version_bumps_and_stale_version_refused(led):
    f = fid(led)
    assert led.frame("SELECT version FROM items")["version"].iloc[0] == 1
    set_status(led, f, "核实中", by="a", expected_version=1)
    assert led.frame("SELECT version FROM items")["version"].iloc[0] == 2
    with pytest.raises(LedgerError, match="已被他人修改"):
        set_status(led, f, "属实", by="b", expected_version=1, fields={"outcome": "x", "money_confirmed_fen": 0})


def test_case_decision_covers_one_persons_findings(tmp_path):
    led = open_ledger(tmp_path / "c.sqlite")
    upsert(led, frame(finding(), finding(rule="ROSTER_STATUS_STALE", subsidy=None, clause="3.1.6"),
                      finding(rule="NOT_IN_ROSTER"), finding(subject=pid(2))))
    cases = led.frame("SELECT case_id, COUNT(*) n FROM items GROUP BY case_id ORDER BY n DESC")
    assert list(cases["n"]) == [3, 1]
    first = led.frame("SELECT finding_id FROM items WHERE rule_id = 'PAID_AFTER_DEATH' AND subject_id = ?",
                      (pid(1),))["finding_id"].iloc[0]
    changed = set_status(led, first, "核实中", by="a", whole_case=True)
    assert len(changed) == 3
    st = led.frame("SELECT subject_id, status FROM items")
    assert (st.loc[st["subject_id"] == pid(1), "status"] == "核实中").all()
    assert (st.loc[st["subject_id"] == pid(2), "status"] == "待核实").all()


def test_overdue_derived_from_deadline(led):
    f = fid(led)
    walk(led, f, "核实中", "属实", "整改中")      # deadline 2021-07-31
    items = led.frame("SELECT status, deadline FROM items")
    assert overdue_mask(items, "2021-08-01").tolist() == [True]
    assert overdue_mask(items, "2021-07-31").tolist() == [False]
    walk(led, f, "已整改销号")
    assert overdue_mask(led.frame("SELECT status, deadline FROM items"), "2022-01-01").tolist() == [False]


@pytest.mark.parametrize("text,fen", [("1,200.50", 120050), ("1200元", 120000), ("0", 0), ("￥3.5", 350),
                                      (12.3, 1230), (1200, 1200)])
def test_money_values(text, fen):
    assert parse_field("money_confirmed_fen", text) == fen


@pytest.mark.parametrize("bad", ["-1", "12.345", "abc", "1e3"])
def test_bad_money_refused(bad):
    with pytest.raises(LedgerError, match="不是有效金额"):
        parse_yuan(bad)

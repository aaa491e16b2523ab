"""Upsert across runs: idempotence, identity, 不属实 not raised again, 本次未再发现, migrations."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pandas.testing as pdt
import pytest
from onecard.ledger import LedgerError, open_ledger
from onecard.ledger.store import _V1, SCHEMA_VERSION
from test_ledger_fixtures import (
    ALL_RULES,
    finding,
    frame,
    pid,
    ring,
    snapshot,
    upsert,
    walk,
)


@pytest.fixture
def led(tmp_path):
    ledger = open_ledger(tmp_path / "l.sqlite")
    yield ledger
    ledger.close()


def base():
    return frame(finding(), finding(rule="NOT_IN_ROSTER", start="2021-01", end="2021-06", amount=60000),
                 finding(subject=pid(2), township="永安街道"), ring([pid(3), pid(4), pid(5), pid(6)]))


def test_new_ledger_schema_wal_foreign_keys(tmp_path):
    led = open_ledger(tmp_path / "sub" / "new.sqlite")
    assert led.created and led.schema_version == SCHEMA_VERSION
    assert led.con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert led.con.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    led.close()
    again = open_ledger(tmp_path / "sub" / "new.sqlite")
    assert not again.created
    with pytest.raises(sqlite3.IntegrityError):
        again.con.execute("INSERT INTO aliases VALUES ('x', 999, NULL, 'now')")


def test_migration_from_version_1(tmp_path):
    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
    con.executescript(_V1)
    con.execute("INSERT INTO schema_version VALUES (1, 'then')")
    con.execute("INSERT INTO meta VALUES ('hash_key', 'k')")
    con.commit()
    con.close()
    led = open_ledger(path)
    assert led.schema_version == 2
    assert list(led.frame("SELECT version FROM schema_version")["version"]) == [1, 2]
    assert led.frame("SELECT * FROM samples").empty


def test_newer_schema_refused(tmp_path):
    path = tmp_path / "new.sqlite"
    open_ledger(path).close()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO schema_version VALUES (99, 'future')")
    con.commit()
    con.close()
    with pytest.raises(LedgerError, match="结构版本为 99"):
        open_ledger(path)


def test_rerun_same_data_leaves_rows_and_decisions(led):
    counts = upsert(led, base())
    assert counts == {"new": 4, "seen_again": 0, "not_found_again": 0, "reopened": 0, "evidence_changed": 0}
    f = led.frame("SELECT finding_id FROM items WHERE rule_id = 'PAID_AFTER_DEATH' AND township = '蔡甸街道'")
    walk(led, f["finding_id"].iloc[0], "核实中", "属实", "整改中")
    before = snapshot(led)
    counts = upsert(led, base(), run_id="r2")
    assert counts == {"new": 0, "seen_again": 4, "not_found_again": 0, "reopened": 0, "evidence_changed": 0}
    after = snapshot(led)
    pdt.assert_frame_equal(before[0], after[0])
    pdt.assert_frame_equal(before[1], after[1])
    assert set(led.frame("SELECT last_run FROM items")["last_run"]) == {"r2"}
    assert len(led.frame("SELECT * FROM aliases")) == 4


def test_longer_period_keeps_the_decision(led):
    upsert(led, frame(finding(start="2021-01", end="2021-03", amount=30000)), period=("2021-01", "2021-06"))
    fid = led.frame("SELECT finding_id FROM items")["finding_id"].iloc[0]
    walk(led, fid, "核实中", "属实")
    # a longer --period: the finding now starts earlier, so its finding_id differs
    longer = frame(finding(start="2020-07", end="2021-03", amount=90000, run_id="r2"))
    assert longer["finding_id"].iloc[0] != fid
    counts = upsert(led, longer, run_id="r2", period=("2020-01", "2021-12"))
    assert counts["new"] == 0 and counts["seen_again"] == 1 and counts["evidence_changed"] == 1
    item = led.frame("SELECT * FROM items").iloc[0]
    assert (item["finding_id"], item["status"], item["period_start"], item["amount_fen"]) == (fid, "属实", "2020-07", 90000)
    assert set(led.frame("SELECT finding_id FROM aliases")["finding_id"]) == {fid, longer["finding_id"].iloc[0]}
    note = led.frame("SELECT note FROM history ORDER BY history_id DESC LIMIT 1")["note"].iloc[0]
    assert "起始月 2021-01 → 2020-07" in note and "金额 300.00 → 900.00 元" in note
    # a new month appended later: same item again
    counts = upsert(led, frame(finding(start="2020-07", end="2021-04", amount=100000)), run_id="r3")
    assert counts["new"] == 0 and len(led.frame("SELECT * FROM items")) == 1


def test_non_overlapping_months_are_a_new_item(led):
    upsert(led, frame(finding(start="2020-01", end="2020-03")))
    counts = upsert(led, frame(finding(start="2021-01", end="2021-02")), run_id="r2")
    assert counts["new"] == 1 and len(led.frame("SELECT * FROM items")) == 2


def test_ring_matched_by_member_overlap(led):
    upsert(led, frame(ring([pid(3), pid(4), pid(5), pid(6)])))
    fid = led.frame("SELECT finding_id FROM items")["finding_id"].iloc[0]
    walk(led, fid, "核实中")
    grown = frame(ring([pid(3), pid(4), pid(5), pid(7)]))       # 3 of 4 shared: 75 %
    assert grown["finding_id"].iloc[0] != fid
    assert upsert(led, grown, run_id="r2")["new"] == 0
    assert led.frame("SELECT status FROM items")["status"].tolist() == ["核实中"]
    other = frame(ring([pid(3), pid(8), pid(9), pid(10)]))      # 1 of 4: 25 %
    assert upsert(led, other, run_id="r3")["new"] == 1


def test_rejected_not_raised_again_and_reopened_on_changed_evidence(led):
    upsert(led, frame(finding()))
    fid = led.frame("SELECT finding_id FROM items")["finding_id"].iloc[0]
    walk(led, fid, "核实中", "不属实")
    # same evidence, new sentence wording: stays 不属实, not new
    counts = upsert(led, frame(finding(evidence="完全不同的说明文字（来源：y.xlsx 第9行）")), run_id="r2")
    assert counts == {"new": 0, "seen_again": 1, "not_found_again": 0, "reopened": 0, "evidence_changed": 0}
    assert led.frame("SELECT status FROM items")["status"].iloc[0] == "不属实"
    # more money and months: back to 待核实, saying what changed
    counts = upsert(led, frame(finding(end="2021-05", amount=50000)), run_id="r3")
    assert counts["reopened"] == 1 and counts["new"] == 0
    last = led.frame("SELECT * FROM history ORDER BY history_id DESC LIMIT 1").iloc[0]
    assert (last["from_status"], last["to_status"], last["by"]) == ("不属实", "待核实", "核查运行 r3")
    assert "金额 300.00 → 500.00 元" in last["note"] and "月数 3 → 5" in last["note"]


def test_not_found_again_only_where_the_run_could_see_it(led):
    upsert(led, base())
    # r2 finds nothing, checked every rule, had both townships, covered the months
    counts = upsert(led, frame(), run_id="r2")
    assert counts["not_found_again"] == 4
    assert set(led.frame("SELECT not_found_run FROM items")["not_found_run"]) == {"r2"}
    assert set(led.frame("SELECT status FROM items")["status"]) == {"待核实"}     # never closes
    # found again: flag cleared
    upsert(led, base(), run_id="r3")
    assert led.frame("SELECT not_found_run FROM items")["not_found_run"].isna().all()


@pytest.mark.parametrize("case", ["rule_not_checked", "township_without_data", "months_not_covered"])
def test_not_found_flag_not_set(led, case):
    upsert(led, frame(finding()))
    kwargs = {"rule_not_checked": {"rules": [r for r in ALL_RULES if r != "PAID_AFTER_DEATH"]},
              "township_without_data": {"towns": ["永安街道"]},
              "months_not_covered": {"period": ("2021-02", "2021-12")}}[case]
    assert upsert(led, frame(), run_id="r2", **kwargs)["not_found_again"] == 0
    assert led.frame("SELECT not_found_run FROM items")["not_found_run"].isna().all()


def test_parallel_township_upserts_do_not_flag_each_other(led):
    both = base()
    upsert(led, both[both["township"] == "蔡甸街道"], towns=["蔡甸街道"])
    upsert(led, both[both["township"] == "永安街道"], towns=["永安街道"])
    assert len(led.frame("SELECT * FROM items")) == 4
    assert led.frame("SELECT not_found_run FROM items")["not_found_run"].isna().all()
    assert led.frame("SELECT counts FROM runs WHERE run_id = 'r1'")["counts"].iloc[0].startswith('{"new": 4')


def test_duplicate_finding_ids_refused(led):
    with pytest.raises(LedgerError, match="疑点编号重复"):
        upsert(led, frame(finding(), finding()))


def test_finding_rows_stored_and_replaced(led):
    f = frame(finding())
    rows = pd.DataFrame({"finding_id": [f["finding_id"].iloc[0]] * 2, "table": "payouts", "_file": "a.xlsx",
                         "_sheet": "s", "_row": [4, 5], "amount_fen": [10000, 20000]})
    upsert(led, f, rows=rows)
    assert led.frame("SELECT SUM(amount_fen) s FROM item_rows")["s"].iloc[0] == 30000
    upsert(led, f, run_id="r2", rows=rows.head(1))
    assert led.frame("SELECT COUNT(*) n FROM item_rows")["n"].iloc[0] == 1


def test_real_run_findings(led):
    from pathlib import Path
    path = Path("/tmp/ledger-run/analysis/findings.parquet")
    if not path.exists():
        pytest.skip("no demo run")
    real = pd.read_parquet(path)
    status = pd.read_csv(path.parent / "rule_status.csv")
    from onecard.ledger import upsert_run
    kw = {"period": ("2020-01", "2021-12"), "rule_status": status, "townships_with_data": real["township"].unique()}
    assert upsert_run(led, real, run_id="a", **kw)["new"] == len(real)
    assert upsert_run(led, real, run_id="b", **kw)["seen_again"] == len(real)
    assert len(led.frame("SELECT * FROM items")) == len(real)

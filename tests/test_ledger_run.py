"""The ledger inside the batch run (issue 11): created and recorded by a run, decisions
kept across re-runs (same data, longer period), a public run that only reads, statuses
and the since-last-run section in the township report.

Slow: one synth and four runs through papermill (one township each).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pandas as pd
import pytest

from onecard.batch.runner import run
from onecard.ledger import open_ledger, set_status
from onecard.ledger.runview import since_last_run

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

TOWN = "蔡甸街道"
ITEM_COLS = ["item_id", "finding_id", "case_id", "rule_id", "subject_id", "subsidy", "status", "period_start",
             "period_end", "months", "amount_fen", "related_ids", "version", "outcome", "first_run"]


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _items(path):
    con = sqlite3.connect(path)
    try:
        return pd.read_sql_query(f"SELECT {', '.join(ITEM_COLS)} FROM items ORDER BY item_id", con)
    finally:
        con.close()


def _history_count(path):
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT COUNT(*) FROM history").fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    from onecard.cli import main

    base = tmp_path_factory.mktemp("ledgerrun")
    data = base / "data"
    assert main(["synth", "--out", str(data), "--seed", "3", "--scale", "0.03"]) == 0
    ledger = base / "district" / "ledger.sqlite"
    said = []
    r1 = run(data, base / "run1", [TOWN], period="2020-07:2021-06", workers=1, progress=False,
             ledger=ledger, say=said.append)
    m1 = r1.manifest
    # a decision recorded between runs, on the first finding of the township
    f1 = pd.read_csv(base / "run1" / "findings.csv", dtype=str, encoding="utf-8-sig")
    target = f1[f1["township"] == TOWN].iloc[0]["finding_id"]
    led = open_ledger(ledger)
    set_status(led, target, "核实中", by="张某", note="已约谈经办人")
    led.close()
    before = _items(ledger)
    history_before = _history_count(ledger)
    r2 = run(data, base / "run2", [TOWN], period="2020-07:2021-06", workers=1, progress=False,
             ledger=ledger)
    after_same = _items(ledger)
    history_same = _history_count(ledger)
    since2 = since_last_run(ledger, r2.manifest["run_id"], TOWN)  # as the run-2 report saw it
    # --resume after a crash between the ledger's commit and the manifest: not upserted twice
    from onecard.analysis.parameters import RunParameters
    from onecard.batch.manifest import Manifest
    from onecard.batch.stages import RunState, ledger_stage

    m2 = json.loads((base / "run2" / "manifest.json").read_text(encoding="utf-8"))
    runs_row = sqlite3.connect(ledger).execute("SELECT counts FROM runs WHERE run_id = ?",
                                               (m2["run_id"],)).fetchone()[0]
    state = RunState(RunParameters.from_record(m2["parameters"]), Manifest(base / "run2", dict(m2)),
                     m2["run_id"])
    ledger_stage(state)
    resumed = {"counts": state.manifest["ledger"]["counts"], "items": _items(ledger),
               "runs_row": sqlite3.connect(ledger).execute(
                   "SELECT counts FROM runs WHERE run_id = ?", (m2["run_id"],)).fetchone()[0],
               "runs_before": runs_row, "history": _history_count(ledger)}
    sha_before_public = _sha(ledger)
    r3 = run(data, base / "run3", [TOWN], period="2020-07:2021-06", workers=1, progress=False,
             ledger=ledger, audience="public")
    sha_after_public = _sha(ledger)
    r4 = run(data, base / "run4", [TOWN], period="2020-01:2021-12", workers=1, progress=False,
             ledger=ledger)
    return {"base": base, "ledger": ledger, "said": said, "m1": m1, "m2": r2.manifest,
            "m3": r3.manifest, "m4": r4.manifest, "target": target, "before": before,
            "after_same": after_same, "history": (history_before, history_same),
            "public_sha": (sha_before_public, sha_after_public), "n1": len(f1), "resumed": resumed,
            "since2": since2}


def test_run_creates_ledger_and_records_path(runs):
    m1 = runs["m1"]
    assert runs["ledger"].is_file()
    assert m1["ledger"]["path"] == str(runs["ledger"].resolve())
    assert m1["ledger"]["created"] is True and m1["ledger"]["readonly"] is False
    assert m1["ledger"]["counts"]["new"] == runs["n1"] > 0
    assert "ledger" in m1["stages"] and m1["stages"].index("ledger") < m1["stages"].index("townships")
    assert any(s.startswith("新建问题台账：") and str(runs["ledger"].resolve()) in s for s in runs["said"])


def test_rerun_same_data_leaves_rows_and_decisions(runs):
    before, after = runs["before"], runs["after_same"]
    pd.testing.assert_frame_equal(before, after)
    assert runs["history"][0] == runs["history"][1]  # no history row written by the re-run
    row = after[after["finding_id"] == runs["target"]].iloc[0]
    assert row["status"] == "核实中"
    c = runs["m2"]["ledger"]["counts"]
    assert c["new"] == 0 and c["seen_again"] == runs["n1"] and c["not_found_again"] == 0
    assert runs["m2"]["ledger"]["created"] is False


def test_resumed_ledger_stage_does_not_upsert_twice(runs):
    r = runs["resumed"]
    assert r["counts"] == runs["m2"]["ledger"]["counts"]
    assert r["runs_row"] == r["runs_before"]
    pd.testing.assert_frame_equal(r["items"], runs["after_same"])
    assert r["history"] == runs["history"][1]


def test_longer_period_keeps_decision(runs):
    from onecard.ledger.runview import statuses

    items = _items(runs["ledger"])
    target = items[items["finding_id"] == runs["target"]].iloc[0]
    assert target["status"] == "核实中"
    # the longer run's finding on the same rule, subject and subsidy is that item, not a new one
    subsidy = "" if pd.isna(target["subsidy"]) else target["subsidy"]
    same = items[(items["rule_id"] == target["rule_id"]) & (items["subject_id"] == target["subject_id"])
                 & (items["subsidy"].fillna("") == subsidy)]
    assert len(same) == 1
    f4 = pd.read_csv(runs["base"] / "run4" / "findings.csv", dtype=str, encoding="utf-8-sig")
    mine = f4[(f4["rule_id"] == target["rule_id"]) & (f4["subject_id"] == target["subject_id"])
              & (f4["subsidy"].fillna("") == subsidy)]
    assert len(mine) >= 1
    assert statuses(runs["ledger"], mine["finding_id"]).tolist() == ["核实中"] * len(mine)
    c4 = runs["m4"]["ledger"]["counts"]
    assert c4["seen_again"] >= 1
    html = (runs["base"] / "run4" / runs["m4"]["townships"][0]["folder"] / "review.html").read_text("utf-8")
    assert "台账状态：核实中" in html


def test_public_run_writes_nothing_and_shows_statuses(runs):
    a, b = runs["public_sha"]
    assert a == b
    m3 = runs["m3"]
    assert m3["ledger"]["readonly"] is True and m3["ledger"]["counts"] == {}
    html = (runs["base"] / "run3" / m3["townships"][0]["folder"] / "review.html").read_text("utf-8")
    assert "台账状态：核实中" in html
    assert runs["target"] not in html  # public: no finding id


def test_township_report_shows_status_and_since_section(runs):
    m2 = runs["m2"]
    html = (runs["base"] / "run2" / m2["townships"][0]["folder"] / "review.html").read_text("utf-8")
    assert "台账状态：核实中" in html and "台账状态：待核实" in html
    since = runs["since2"]
    n_town = int((pd.read_csv(runs["base"] / "run1" / "findings.csv", dtype=str,
                              encoding="utf-8-sig")["township"] == TOWN).sum())
    assert since["previous"] == runs["m1"]["run_id"]
    assert since["counts"] == {"new": 0, "still_open": n_town, "closed": 0, "not_found": 0}
    assert f"仍未办结 <b>{n_town}</b> 条" in html and "新发现 <b>0</b> 条" in html
    first = since_last_run(runs["ledger"], runs["m1"]["run_id"], TOWN)
    assert first["previous"] is None and first["counts"]["new"] == n_town
    summary = (runs["base"] / "run2" / "district_summary.html").read_text("utf-8")
    assert "问题台账：疑点与问题（各街道）" in summary


def test_since_counts_closed_and_not_found(tmp_path):
    """Closed and not-found counts from the ledger alone (no notebooks)."""
    from onecard.core.findings import FINDINGS_COLUMNS
    from onecard.ledger import upsert_run

    def finding(fid, subject, rule="PAID_AFTER_DEATH"):
        row = dict.fromkeys(FINDINGS_COLUMNS)
        row.update(finding_id=fid, rule_id=rule, clause="3.1.1", severity="high", township=TOWN,
                   subject_type="person", subject_id=subject, subsidy="两项补贴",
                   period_start="2021-01", period_end="2021-03", months=3, amount_fen=30000,
                   evidence="e")
        return row

    f = pd.DataFrame([finding("F1", "P1"), finding("F2", "P2"), finding("F3", "P3")])
    status = pd.DataFrame({"rule_id": ["PAID_AFTER_DEATH"], "checked": [True]})
    led = open_ledger(tmp_path / "l.sqlite")
    upsert_run(led, f, run_id="R1", period=("2021-01", "2021-06"), rule_status=status,
               townships_with_data=[TOWN], at="2021-07-01 10:00:00")
    set_status(led, "F1", "核实中", by="张某", at="2021-07-02 10:00:00")
    set_status(led, "F1", "不属实", by="张某", fields={"outcome": "已核实，系误报"}, at="2021-07-03 10:00:00")
    upsert_run(led, f[f["finding_id"] != "F3"], run_id="R2", period=("2021-01", "2021-06"),
               rule_status=status, townships_with_data=[TOWN], at="2021-08-01 10:00:00")
    led.close()
    s = since_last_run(tmp_path / "l.sqlite", "R2")
    assert s["previous"] == "R1"
    assert s["counts"] == {"new": 0, "still_open": 1, "closed": 1, "not_found": 1}
    assert s["lists"]["closed"]["finding_id"].tolist() == ["F1"]
    assert s["lists"]["not_found"]["finding_id"].tolist() == ["F3"]
    assert s["lists"]["still_open"]["finding_id"].tolist() == ["F2"]


def test_pack_command_takes_history_from_the_manifest_ledger(runs, tmp_path, capsys):
    from onecard.cli import main

    run2 = runs["base"] / "run2"
    assert main(["pack", runs["target"], "--run", str(run2), "--out", str(tmp_path / "p"),
                 "--audience", "internal"]) == 0
    assert "证据材料：" in capsys.readouterr().out
    html = next((tmp_path / "p").glob("*.html")).read_text(encoding="utf-8")
    assert "已约谈经办人" in html and "张某" in html  # the decision recorded in the ledger
    assert main(["pack", runs["target"], "--run", str(run2), "--out", str(tmp_path / "q"),
                 "--audience", "public"]) == 0
    public = next((tmp_path / "q").glob("*.html")).read_text(encoding="utf-8")
    assert "已约谈经办人" not in public and runs["target"] not in public
    with pytest.raises(SystemExit):  # --audience is required
        main(["pack", runs["target"], "--run", str(run2), "--out", str(tmp_path / "r")])

"""Explorer widgets in plain Python: set values, fire observers, read tables and the ledger."""

from __future__ import annotations

import sqlite3

import pytest

from explorer_fixture import A1, F_DEAD, F_POOL, F_RING, F_ROSTER, P1, P2, PH1, make_run
from onecard.explorer import decide
from onecard.explorer.app import ExplorerApp, batch_view, build_explorer

pytest.importorskip("ipywidgets")



@pytest.fixture()
def run(tmp_path):
    return make_run(tmp_path / "run", ledger=tmp_path / "ledger.sqlite")


def test_filters_fill_the_table_and_finding_list(run):
    app = build_explorer(run)
    assert "共 4 条" in app.results.value
    app.township.value = "甲街道"
    assert "共 3 条" in app.results.value and F_ROSTER not in app.results.value
    assert [v for _, v in app.finding.options] == [F_POOL, F_DEAD, F_RING]
    app.rule.value = "3.3.2"                              # a clause
    assert [v for _, v in app.finding.options] == [F_DEAD, F_RING]
    app.rule.value = "（全部）"
    app.severity.value = "medium"
    assert [v for _, v in app.finding.options] == [F_RING]
    app.severity.value = "（全部）"
    app.min_yuan.value = "abc"
    assert "金额应为数字" in app.message.value
    app.min_yuan.value = "1,200"
    app.max_yuan.value = "7680元"
    assert [v for _, v in app.finding.options] == [F_POOL, F_DEAD]
    app.sort_by.value = "amount_fen"
    app.descending.value = False
    assert [v for _, v in app.finding.options] == [F_DEAD, F_POOL]
    assert "7,680.00" in app.results.value and "涉及金额（元）" in app.results.value


def test_pooled_account_finding_opens_its_holder(run):
    app = build_explorer(run)
    app.finding.value = F_POOL
    assert [v for _, v in app.person.options] == [P1, P2, "420114194207151659"]
    app.open_person.click()
    assert "秦梅兴" in app.card.value and A1 in app.card.value and PH1 in app.card.value
    assert F_POOL in app.story_tables.value and "本人账户/手机号" in app.story_tables.value
    assert app.timeline.value[:4] == b"\x89PNG"
    assert app.graph.value.startswith("<svg") and A1 in app.graph.value
    assert "得分·户数" in app.ring.value
    app.expand_node.value = f"account:{A1}"
    added = app.expand_once()
    assert f"person:{P2}" in added and "叶玉海" in app.graph.value
    app.link_a.value, app.link_b.value = f"person:{P2}", f"phone:{PH1}"
    app.explain.click()
    assert "补贴发放至" in app.path.value and "预留手机号" in app.path.value


def test_search_box(run):
    app = build_explorer(run)
    app.query.value = "qmx"
    assert [v for _, v in app.finding.options] == [F_POOL, F_RING]
    assert app.person.value == P1


def test_public_has_no_decide_panel_and_is_masked(run):
    app = build_explorer(run, audience="public")
    tab = app.widget
    titles = [tab.get_title(i) for i in range(len(tab.children))]
    assert titles == ["查找疑点", "个人情况", "关系网络"]
    for secret in (P1, A1, F_POOL, "秦梅兴"):
        assert secret not in app.results.value
    app.finding.value = app.finding.options[0][1]
    app.show_person(P1)
    for secret in (P1, A1, PH1, "秦梅兴"):
        assert secret not in app.card.value + app.story_tables.value + app.graph.value


def test_export_selection_is_formula_safe(run, tmp_path):
    from openpyxl import load_workbook

    app = build_explorer(run)
    app.export_path.value = str(tmp_path / "out" / "sel.xlsx")
    app.township.value = "乙街道"
    app.export.click()
    ws = load_workbook(tmp_path / "out" / "sel.xlsx").active
    rows = list(ws.values)
    assert rows[0][0] == "疑点编号" and rows[1][0] == F_ROSTER and len(rows) == 2
    evidence = rows[1][rows[0].index("疑点说明及依据")]
    assert evidence.startswith("不在残疾人库=SUM")   # text, not a formula cell
    assert "已导出 1 条" in app.message.value


def test_pack_of_a_finding(run, monkeypatch):
    """The pack button calls report.pack.build_pack with the run, the finding and the audience."""
    from onecard.report import pack

    calls = []
    monkeypatch.setattr(pack, "build_pack", lambda run_, fid, out, aud, history=None: calls.append(
        (run_.folder, fid, aud)) or {"html": out / "x.html"})
    app = build_explorer(run)
    app.finding.value = F_DEAD
    app.pack.click()
    assert calls == [(run, F_DEAD, "internal")] and "证据包已生成" in app.message.value
    monkeypatch.delattr(pack, "build_pack")
    app.pack.click()
    assert app.message.value == "证据包功能尚未安装"


def test_batch_view_outputs_tables(run):
    out = batch_view(run, township="甲街道", person_id=P1)
    assert "共 3 条" in out and "涉及本人及其账户、手机号的疑点" in out and F_POOL in out


def test_decision_recorded_with_required_fields(run, tmp_path):
    app = build_explorer(run, by="张科员")
    app.finding.value = F_DEAD
    assert app.target.options == ("核实中",)
    app.record.click()
    assert "已记录" in app.decision_message.value
    assert app.target.options == ("属实", "不属实")
    app.target.value = "属实"
    assert set(app.field_inputs) == {"outcome", "money_confirmed_fen"}
    app.record.click()                                   # fields missing: refused, nothing written
    assert "未记录" in app.decision_message.value and "认定金额" in app.decision_message.value
    con = sqlite3.connect(tmp_path / "ledger.sqlite")
    assert con.execute("SELECT status FROM items WHERE finding_id = ?", (F_DEAD,)).fetchone() == ("核实中",)
    app.field_inputs["outcome"].value = "死亡后冒领属实"
    app.field_inputs["money_confirmed_fen"].value = "1,200.00"
    app.record.click()
    assert "已记录" in app.decision_message.value
    row = con.execute("SELECT status, outcome, money_confirmed_fen FROM items WHERE finding_id = ?",
                      (F_DEAD,)).fetchone()
    assert row == ("属实", "死亡后冒领属实", 120000)
    hist = con.execute("SELECT h.by, h.to_status FROM history h JOIN items i USING (item_id) "
                       "WHERE i.finding_id = ? ORDER BY history_id", (F_DEAD,)).fetchall()
    assert hist[-2:] == [("张科员", "核实中"), ("张科员", "属实")]
    assert "死亡后冒领属实" in app.history.value
    app.status.value = "属实"
    assert [v for _, v in app.finding.options] == [F_DEAD]
    fresh = build_explorer(run)                           # statuses come from the ledger on open
    fresh.status.value = "属实"
    assert [v for _, v in fresh.finding.options] == [F_DEAD]
    fresh.ledger_path.value = str(tmp_path / "other.sqlite")   # another (empty) ledger entered
    assert fresh.finding.options == ()


def test_referral_needs_organ_date_and_number(run, tmp_path):
    led = tmp_path / "ledger.sqlite"
    for to, fields in (("核实中", {}), ("属实", {"outcome": "属实", "money_confirmed_fen": "100"})):
        decide.record(led, F_POOL, to, fields, "李", findings=build_explorer(run).data.findings)
    app = build_explorer(run, by="李")
    app.finding.value = F_POOL
    assert set(app.target.options) == {"整改中", "已移交"}
    app.target.value = "已移交"
    assert set(app.field_inputs) == {"referral_organ", "referral_date", "referral_ref"}
    app.field_inputs["referral_organ"].value = "纪检监察机关"
    app.field_inputs["referral_date"].value = "2026-13-01"
    app.field_inputs["referral_ref"].value = "蔡纪〔2026〕1号"
    assert app.record_decision() is False and "不是有效日期" in app.decision_message.value
    app.field_inputs["referral_date"].value = "2026-11-30"
    assert app.record_decision() is True
    con = sqlite3.connect(led)
    assert con.execute("SELECT status, referral_organ, referral_date, referral_ref FROM items WHERE finding_id = ?",
                       (F_POOL,)).fetchone() == ("已移交", "纪检监察机关", "2026-11-30", "蔡纪〔2026〕1号")


def test_without_ledger_decide_says_so(run, monkeypatch):
    monkeypatch.setattr(decide, "_ledger", lambda: None)
    app = ExplorerApp(build_explorer(run).data, by="张")
    app.finding.value = F_DEAD
    assert app.record_decision() is False
    assert decide.LEDGER_MISSING_ZH in app.decision_message.value

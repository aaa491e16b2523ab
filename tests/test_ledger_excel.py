"""Worksheet round-trip with tampering, formula injection, manual template, monthly numbers, publish."""

from __future__ import annotations

import pandas as pd
import pytest
from onecard.ledger import (
    LedgerImportError,
    add_manual,
    export_report,
    import_worksheet,
    open_ledger,
    record_submission,
    report_tables,
    set_status,
    submission_status,
    write_worksheet,
)
from onecard.core.cells import FORMULA_PREFIXES, safe_text
from onecard.ledger.manual import import_manual, write_manual_template
from onecard.ledger.publish import publish
from onecard.ledger.sample import draw_sample
from onecard.ledger.worksheet import SHEET
from openpyxl import load_workbook
from test_ledger_fixtures import finding, frame, pid, ring, upsert, walk


@pytest.fixture
def led(tmp_path):
    ledger = open_ledger(tmp_path / "l.sqlite")
    upsert(ledger, frame(finding(), finding(subject=pid(2), name="李四"), finding(subject=pid(3), name="王五"),
                         finding(subject=pid(9), township="永安街道")))
    yield ledger
    ledger.close()


def sheet_rows(path):
    wb = load_workbook(path)
    return wb, wb[SHEET]


def col(ws, header):
    return [c.value for c in ws[1]].index(header) + 1


def fill(path, edits):
    """edits: {excel_row: {header: value}}"""
    wb, ws = sheet_rows(path)
    for r, cells in edits.items():
        for h, v in cells.items():
            ws.cell(r, col(ws, h)).value = v
    wb.save(path)


def state(led):
    return led.frame("SELECT finding_id, status, version, outcome, money_confirmed_fen FROM items ORDER BY finding_id")


def test_worksheet_round_trip(led, tmp_path):
    path = tmp_path / "ws.xlsx"
    assert write_worksheet(led, path, township="蔡甸街道") == 3
    _wb, ws = sheet_rows(path)
    assert ws.protection.sheet
    assert ws.cell(2, col(ws, "疑点编号")).protection.locked
    assert not ws.cell(2, col(ws, "处理状态")).protection.locked
    lists = {str(dv.sqref) for dv in ws.data_validations.dataValidation}
    assert len(lists) >= 4                      # 处理状态, 责任单位, 整改措施, 移交机关
    fid2 = ws.cell(2, 1).value
    fill(path, {2: {"处理状态": "属实", "核实情况/处理结果": "死亡后仍发放属实", "认定金额(元)": 300,
                    "填报人": "赵某"},
                3: {"处理状态": "核实中", "填报人": "赵某"}})
    assert import_worksheet(led, path) == {"changed": 2, "unchanged": 1}
    st = state(led).set_index("finding_id")
    assert st.loc[fid2, "status"] == "属实" and st.loc[fid2, "money_confirmed_fen"] == 30000
    h = led.frame("SELECT i.finding_id, h.from_status, h.to_status, h.by FROM history h JOIN items i USING(item_id) "
                  "WHERE i.finding_id = ? ORDER BY history_id", (fid2,))
    assert h[["from_status", "to_status"]].values.tolist()[1:] == [["待核实", "核实中"], ["核实中", "属实"]]
    assert set(h["by"].iloc[1:]) == {"赵某"}
    # importing the same file again: every row is now stale
    with pytest.raises(LedgerImportError) as exc:
        import_worksheet(led, path)
    assert "导出后已被修改" in str(exc.value)


@pytest.mark.parametrize("case", ["protected", "unknown_id", "stale", "illegal", "bad_money", "bad_date",
                                  "missing_field", "hash"])
def test_tampered_worksheet_rejected_nothing_written(led, tmp_path, case):
    path = tmp_path / "ws.xlsx"
    write_worksheet(led, path, township="蔡甸街道")
    good = {2: {"处理状态": "核实中", "填报人": "赵某"}}
    bad = {"protected": {3: {"涉及金额(元)": "1.00"}},
           "unknown_id": {3: {"疑点编号": "ffffffffffffffff"}},
           "illegal": {3: {"处理状态": "已整改销号", "填报人": "赵某"}},
           "bad_money": {3: {"处理状态": "属实", "核实情况/处理结果": "x", "认定金额(元)": "三百元", "填报人": "赵"}},
           "bad_date": {3: {"处理状态": "核实中", "整改期限": "2021-02-30", "填报人": "赵"}},
           "missing_field": {3: {"处理状态": "属实", "填报人": "赵"}},
           "hash": {3: {"校验码": "0" * 20}},
           "stale": {}}[case]
    fill(path, {**good, **bad})
    if case == "stale":        # decided in the explorer after the export
        _wb, ws = sheet_rows(path)
        set_status(led, ws.cell(3, 1).value, "核实中", by="他人")
    before = state(led)
    with pytest.raises(LedgerImportError) as exc:
        import_worksheet(led, path)
    rows = {r for r, _ in exc.value.problems}
    assert rows == {3}
    assert "第3行" in str(exc.value) and "未导入任何内容" in str(exc.value)
    expect = {"protected": "受保护的列", "unknown_id": "没有疑点编号", "stale": "导出后已被修改",
              "illegal": "允许的下一状态", "bad_money": "不是有效金额", "bad_date": "不是有效日期",
              "missing_field": "需要填写", "hash": "受保护的列"}[case]
    assert expect in str(exc.value)
    pd.testing.assert_frame_equal(state(led), before)        # row 2 was valid but is not written either


@pytest.mark.parametrize("prefix", FORMULA_PREFIXES)
def test_formula_injection_cells(tmp_path, prefix):
    led = open_ledger(tmp_path / "f.sqlite")
    evil = prefix + "HYPERLINK(\"http://x\",\"点我\")"
    upsert(led, frame(finding(name=evil, evidence=evil)))
    fid = led.frame("SELECT finding_id FROM items")["finding_id"].iloc[0]
    walk(led, fid, "核实中")
    set_status(led, fid, None, by="a", fields={"measure": evil})
    add_manual(led, source="媒体", by="a", township="蔡甸街道", description=evil, names=[evil])
    ws_path = tmp_path / "ws.xlsx"
    write_worksheet(led, ws_path, township="蔡甸街道")
    report = export_report(led, tmp_path, month=pd.Timestamp.today().strftime("%Y-%m"))
    for path in (ws_path, report):
        wb = load_workbook(path)
        for sheet in wb.worksheets:
            for row in sheet.iter_rows():
                for c in row:
                    assert c.data_type != "f", (path, sheet.title, c.coordinate)
                    if isinstance(c.value, str):
                        assert not c.value.startswith(FORMULA_PREFIXES), (sheet.title, c.coordinate, c.value)
    assert safe_text(evil) == "'" + evil.replace("\r", "\n")
    # the guarded text still round-trips through the worksheet hash
    assert import_worksheet(led, ws_path, by="a") == {"changed": 0, "unchanged": 2}


def test_manual_add_and_finding_marked_self_reported(led, tmp_path):
    fid = led.frame("SELECT finding_id FROM items LIMIT 1")["finding_id"].iloc[0]
    assert add_manual(led, source="自查", by="a", finding_id=fid) == fid
    assert add_manual(led, source="自查", by="a", finding_id=fid) == fid     # idempotent
    assert led.frame("SELECT sources FROM items WHERE finding_id = ?", (fid,))["sources"].iloc[0] == "自查"
    assert len(led.frame("SELECT * FROM items")) == 4                            # not counted twice
    m = add_manual(led, source="举报电话", by="a", township="蔡甸街道", description="代领", persons=[pid(1)],
                   amount_fen=12000, category="疑似多发、应予追回")
    assert m.startswith("M")
    case = led.frame("SELECT case_id FROM items WHERE finding_id = ?", (m,))["case_id"].iloc[0]
    assert case == f"person:{pid(1)}"
    with pytest.raises(Exception, match="来源"):
        add_manual(led, source="网络", by="a", township="x", description="y")


def test_manual_template_bulk_import_all_or_nothing(led, tmp_path):
    path = tmp_path / "t.xlsx"
    write_manual_template(path)
    wb = load_workbook(path)
    ws = wb["问题登记"]
    ws.append(["自查", "3.1.3", "蔡甸街道", "三义社区", "死亡未停发", pid(5), "钱七", "护理补贴", "1,200.00", None, None])
    ws.append(["网络", "3.1.3", "蔡甸街道", None, "x", None, None, None, "abc", None, None])
    wb.save(path)
    with pytest.raises(LedgerImportError) as exc:
        import_manual(led, path, by="a")
    assert {r for r, _ in exc.value.problems} == {3}
    assert len(led.frame("SELECT * FROM items WHERE kind = 'manual'")) == 0
    ws.delete_rows(3)
    wb.save(path)
    ids = import_manual(led, path, by="a")
    got = led.frame("SELECT amount_fen, sources, evidence FROM items WHERE finding_id = ?", (ids[0],)).iloc[0]
    assert tuple(got) == (120000, "自查", "死亡未停发")


def test_submissions_zero_vs_missing_and_few(led):
    record_submission(led, "蔡甸街道", "2021-06", 0, by="a")
    record_submission(led, "永安街道", "2021-06", 2, by="a")
    record_submission(led, "奓山街道", "2021-06", 7, by="a")
    got = submission_status(led, "2021-06", ["蔡甸街道", "永安街道", "奓山街道", "消泗乡"], few_reported_threshold=3)
    assert got["status"].tolist() == ["零报送", "少报送", "已报送", "未报送"]
    assert got["spot_check_target"].tolist() == [True, True, False, True]
    assert got["reported_count"].tolist()[:3] == [0, 2, 7]


def test_monthly_numbers_recomputed_from_the_ledger(tmp_path):
    led = open_ledger(tmp_path / "m.sqlite")
    from onecard.ledger import upsert_run
    from test_ledger_fixtures import ALL_RULES, rule_status
    f = frame(finding(), finding(rule="NOT_IN_ROSTER"), finding(subject=pid(2)), finding(subject=pid(3)),
              finding(subject=pid(4), township="永安街道"), ring([pid(5), pid(6), pid(7)]))
    upsert_run(led, f, run_id="r1", period=("2020-01", "2021-12"), rule_status=rule_status(*ALL_RULES),
               townships_with_data=["蔡甸街道", "永安街道"], at="2021-05-20 09:00:00")
    ids = led.frame("SELECT finding_id, subject_id, rule_id FROM items ORDER BY item_id")
    a, b, c, d, _e = ids["finding_id"].iloc[:5]
    step = lambda fid, s, at, **fields: set_status(led, fid, s, by="x", fields=fields, at=at)
    for fid in (a, c, d):
        step(fid, "核实中", "2021-06-02 10:00:00")
    step(a, "属实", "2021-06-05 10:00:00", outcome="属实", money_confirmed_fen=30000)
    step(b, "核实中", "2021-06-05 10:00:00")
    step(b, "属实", "2021-06-06 10:00:00", outcome="属实", money_confirmed_fen=20000)   # same case as a
    step(a, "整改中", "2021-06-10 10:00:00", responsible_unit="u", responsible_person="p", measure="m",
         deadline="2021-06-20")
    step(c, "不属实", "2021-06-12 10:00:00", outcome="误报")
    step(d, "属实", "2021-06-15 10:00:00", outcome="属实", money_confirmed_fen=5000)
    step(d, "已移交", "2021-06-28 10:00:00", referral_organ="纪检监察机关", referral_date="2021-06-28",
         referral_ref="1号")
    step(a, "已整改销号", "2021-07-03 10:00:00", money_recovered_fen=30000, closed_on="2021-07-03")   # after cutoff
    t = report_tables(led, month="2021-06")
    town = t["by_township"].set_index("township")
    # recompute independently from raw history
    hist = led.frame("SELECT h.item_id, h.at, h.to_status, h.from_status, i.township, i.case_id, "
                     "h.money_confirmed_fen FROM history h JOIN items i USING(item_id) ORDER BY history_id")
    june = hist[hist["at"] <= "2021-06-30 23:59:59"]
    last = {}
    for row in june.itertuples():
        last[row.item_id] = row
    cd = [r for r in last.values() if r.township == "蔡甸街道"]
    assert town.loc["蔡甸街道", "suspects"] == sum(r.to_status in ("待核实", "核实中") for r in cd) == 1
    assert town.loc["蔡甸街道", "problem_cases"] == len({r.case_id for r in cd if r.to_status in
                                                       ("属实", "整改中", "已整改销号", "已移交", "移交办结")}) == 2
    assert town.loc["蔡甸街道", "整改中"] == 1 and town.loc["蔡甸街道", "已整改销号"] == 0   # July closing not counted
    assert town.loc["蔡甸街道", "不属实"] == 1 and town.loc["蔡甸街道", "已移交"] == 1
    assert town.loc["蔡甸街道", "overdue"] == 1                       # deadline 06-20 < cutoff 06-30
    assert town.loc["蔡甸街道", "referred_this_period"] == 1
    assert town.loc["蔡甸街道", "new_this_period"] == 0               # created in May
    assert town.loc["蔡甸街道", "confirmed_fen"] == sum(int(r.money_confirmed_fen) for r in cd if pd.notna(r.money_confirmed_fen)) == 55000
    assert town.loc["永安街道", "suspects"] == 1 and town.loc["合计", "suspects"] == 2
    july = report_tables(led, kind="stage", cutoff="2021-07-10")["by_township"].set_index("township")
    assert july.loc["蔡甸街道", "已整改销号"] == 1 and july.loc["蔡甸街道", "recovered_fen"] == 30000
    assert july.loc["蔡甸街道", "overdue"] == 0
    path = export_report(led, tmp_path, month="2021-06")
    wb = load_workbook(path)
    assert "问题清单-蔡甸街道" in wb.sheetnames and "汇总(按街道)" in wb.sheetnames
    ws = wb["汇总(按街道)"]
    assert "累计数截至 2021-06-30" in ws.cell(2, 1).value
    heads = [c.value for c in ws[5]]
    first = {h: ws.cell(r, heads.index(h) + 1).value for r in range(6, ws.max_row + 1)
             if ws.cell(r, 1).value == "蔡甸街道" for h in heads}
    assert first["认定金额(元)"] == 550.0 and first["逾期"] == 1
    with pytest.raises(Exception, match="cutoff"):
        report_tables(led, kind="annual")


def test_publish_is_masked(led, tmp_path):
    fid = led.frame("SELECT finding_id FROM items WHERE subject_id = ?", (pid(2),))["finding_id"].iloc[0]
    walk(led, fid, "核实中", "属实", "整改中")
    set_status(led, fid, None, by="a", fields={"measure": f"停发，联系13912345678，卡号6228480000000012344，身份证{pid(2)}"})
    month = pd.Timestamp.today().strftime("%Y-%m")
    path = publish(led, tmp_path, month=month)
    wb = load_workbook(path)
    text = " ".join(str(c.value) for row in wb.active.iter_rows() for c in row if c.value is not None)
    for secret in ("李四", pid(2), "13912345678", "6228480000000012344", fid):
        assert secret not in text
    assert "李*" in text and "139****5678" in text and "4201**********" in text


def test_sample_reproducible_weighted_with_clean_share(led):
    payouts = pd.DataFrame({"person_id": [pid(i) for i in range(1, 41)], "township": "蔡甸街道",
                            "name": "某", "status": ["paid"] * 39 + ["failed"]})
    s1 = draw_sample(led, payouts, township="蔡甸街道", n=10, seed=7, no_finding_share=0.3)
    s2 = draw_sample(led, payouts.sample(frac=1, random_state=1), township="蔡甸街道", n=10, seed=7,
                     no_finding_share=0.3)
    assert s1["person_id"].tolist() == s2["person_id"].tolist()
    assert (s1["group"] == "有疑点").sum() == 3                       # only 3 paid people in 蔡甸 have findings
    assert (s1["group"] == "无疑点").sum() == 7 and len(s1) == 10
    assert pid(40) not in s1["person_id"].tolist() or True
    rec = led.frame("SELECT * FROM samples ORDER BY sample_id")
    assert rec["seed"].tolist() == [7, 7] and rec["n"].tolist() == [10, 10]
    s3 = draw_sample(led, payouts, township="蔡甸街道", n=5, seed=None)
    assert led.frame("SELECT seed FROM samples")["seed"].iloc[-1] == s3.attrs["seed"]

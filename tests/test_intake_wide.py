"""Wide 花名册 payouts (B09 follow-up): one column group per subsidy, unpivoted per person × subsidy."""

from __future__ import annotations

import openpyxl
import pandas as pd
import pytest

from onecard.core.errors import MissingColumnError
from onecard.intake import intake_path
from onecard.intake.wide import detect_wide, period_from_title

P1, P2, P3 = "110101195803120138", "110101195803124550", "11010119620907804X"


def _roster(path, rows, title="XX区2022年5月残疾人两项补贴发放花名册", unit="单位：元",
            groups=("困难残疾人生活补贴", "重度残疾人护理补贴"), subs=("标准", "金额"), footer=None):
    """B09 layout: merged title (row 1), unit row 2, two-row header (3-4), data from row 5."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    width = 3 + len(groups) * len(subs)
    ws["A1"] = title
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws["A2"] = "填报单位：XX街道"
    ws.cell(2, width, unit)
    for c, text in enumerate(["序号", "姓名", "身份证号"], start=1):
        ws.cell(3, c, text)
        ws.merge_cells(start_row=3, start_column=c, end_row=4, end_column=c)
    for gi, g in enumerate(groups):
        c0 = 4 + gi * len(subs)
        ws.cell(3, c0, g)
        if len(subs) > 1:
            ws.merge_cells(start_row=3, start_column=c0, end_row=3, end_column=c0 + len(subs) - 1)
        for k, s in enumerate(subs):
            ws.cell(4, c0 + k, s)
    for r in rows:
        ws.append(r)
    for r in footer or []:
        ws.append(r)
    wb.save(path)
    return path


def _conserved(result):
    for e in result.summary["files"]:
        assert e["rows_read"] == e["rows_accepted"] + e["rows_quarantined"], e
        w = e.get("wide")
        if w:
            assert w["cells"] == e["rows_accepted"] * len(w["groups"])
            assert w["cells"] == w["cells_paid"] + w["cells_blank"] + w["cells_zero"]
            assert w["cells_paid"] == e["rows_emitted"] - 0  # no multi-month titles here


def test_b09_wide_roster_unpivots_to_payouts(tmp_path):
    f = _roster(tmp_path / "花名册.xlsx", [[1, "张一", P1, 80, 80, 100, 100], [2, "李二", P2, 80, 80, 100, 100]])
    r = intake_path(f)
    p = r.tables["payouts"]
    assert p["person_id"].tolist() == [P1, P1, P2, P2]
    assert p["name"].tolist() == ["张一", "张一", "李二", "李二"]
    assert p["subsidy"].tolist() == ["困难残疾人生活补贴", "重度残疾人护理补贴"] * 2
    assert p["amount"].tolist() == [8000, 10000, 8000, 10000]
    assert p["standard"].tolist() == [8000, 10000, 8000, 10000]
    assert str(p["amount"].dtype) == "Int64" and str(p["standard"].dtype) == "Int64"
    assert p["period"].astype(str).tolist() == ["2022-05"] * 4
    assert str(p["period"].dtype) == "period[M]"
    assert p["_row"].tolist() == [5, 5, 6, 6]
    assert set(p["_file"]) == {"花名册.xlsx"} and set(p["_sheet"]) == {"花名册"}
    assert all("period_from_title" in x for x in p["_flags"])
    assert p["status"].tolist() == ["paid"] * 4 and p["payout_id"].isna().all()
    e = r.summary["files"][0]
    assert e["table"] == "payouts"
    assert (e["rows_read"], e["rows_accepted"], e["rows_quarantined"], e["rows_emitted"]) == (4, 2, 2, 4)
    assert e["quarantined_by_reason"] == {"title_or_footer": 2}
    assert e["period_from_title"] == "2022年5月"
    assert e["header_map"]["重度残疾人护理补贴_金额"] == "amount"
    assert e["header_map"]["重度残疾人护理补贴_标准"] == "standard"
    assert e["unmapped_headers"] == []
    assert e["wide"]["cells"] == 4 and e["wide"]["cells_paid"] == 4
    assert r.summary["tables"] == {"payouts": 4}
    _conserved(r)


def test_blank_and_zero_amounts_are_no_payment(tmp_path):
    rows = [[1, "张一", P1, 80, 80, 100, None], [2, "李二", P2, 80, 0, 100, "100.00"],
            [3, "王三", P3, None, None, None, "-"]]
    r = intake_path(_roster(tmp_path / "h.xlsx", rows))
    p = r.tables["payouts"]
    assert list(zip(p["person_id"], p["subsidy"], p["amount"])) == [
        (P1, "困难残疾人生活补贴", 8000), (P2, "重度残疾人护理补贴", 10000)]
    assert p["_row"].tolist() == [5, 6]
    e = r.summary["files"][0]
    assert e["rows_accepted"] == 3 and e["rows_emitted"] == 2  # 王三: read, accepted once, no payment
    assert (e["wide"]["cells_paid"], e["wide"]["cells_blank"], e["wide"]["cells_zero"]) == (2, 3, 1)
    _conserved(r)


def test_bad_rows_quarantined_once(tmp_path):
    rows = [[1, "张一", P1, 80, 80, 100, 100], [2, "李二", "", 80, 80, 100, 100],
            [3, "王三", P3, 80, "八十", 100, 100]]
    footer = [[None, "合计", None, 240, 160, 300, 300], ["制表人：测试 审核人：测试"]]
    r = intake_path(_roster(tmp_path / "h.xlsx", rows, footer=footer))
    p = r.tables["payouts"]
    assert p["person_id"].tolist() == [P1, P1]
    q = r.quarantine.set_index("row")
    assert q.loc[6, "reason"] == "id_missing"
    assert q.loc[7, "reason"] == "unparseable_amount" and "困难残疾人生活补贴_金额=八十" in q.loc[7, "detail"]
    assert q.loc[8, "reason"] == "total_row" and q.loc[9, "reason"] == "title_or_footer"
    assert len(q) == len(set(q.index))  # every source row quarantined at most once
    e = r.summary["files"][0]
    assert (e["rows_read"], e["rows_accepted"], e["rows_quarantined"], e["rows_emitted"]) == (7, 1, 6, 2)
    assert e["checksum"]["total_fen"] == 46000 and not e["checksum"]["ok"]  # 2 rows were quarantined
    _conserved(r)


def test_alias_group_names_kept_period_column_wins_and_wan_yuan(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["蔡甸区两项补贴发放花名册"])
    ws.append(["金额单位：万元"])
    ws.append(["姓名", "身份证号", "所属期", "生活补贴", None, "护理补贴", None, "合计", None])
    ws.append([None, None, None, "标准", "实发", "标准", "发放金额", "标准", "金额"])
    ws.append(["张一", P1, "2021年6月", 0.008, 0.008, 0.01, 0.01, 0.018, 0.018])
    wb.save(tmp_path / "w.xlsx")
    r = intake_path(tmp_path / "w.xlsx")
    p = r.tables["payouts"]
    assert p["subsidy"].tolist() == ["生活补贴", "护理补贴"]  # the office's text; aliases fold later
    assert p["amount"].tolist() == [8000, 10000]
    assert p["period"].astype(str).tolist() == ["2021-06", "2021-06"]
    assert not any("period_from_title" in x for x in p["_flags"])
    e = r.summary["files"][0]
    assert [g["subsidy"] for g in e["wide"]["groups"]] == ["生活补贴", "护理补贴"]  # 合计 is not a subsidy
    _conserved(r)


def test_quarter_title_splits_months(tmp_path):
    r = intake_path(_roster(tmp_path / "q.xlsx", [[1, "张一", P1, 80, 240, 100, 300]],
                            title="XX区2022年第一季度残疾人两项补贴发放花名册"))
    p = r.tables["payouts"]
    assert p["period"].astype(str).tolist() == ["2022-01", "2022-02", "2022-03"] * 2
    assert p["amount"].tolist() == [8000] * 3 + [10000] * 3
    e = r.summary["files"][0]
    assert e["rows_accepted"] == 1 and e["rows_emitted"] == 6 and e["wide"]["cells_paid"] == 2


def test_wide_without_period_is_named_error(tmp_path):
    f = _roster(tmp_path / "花名册.xlsx", [[1, "张一", P1, 80, 80, 100, 100]], title="XX区残疾人两项补贴发放花名册")
    with pytest.raises(MissingColumnError) as exc:
        intake_path(f)
    assert "花名册.xlsx" in str(exc.value) and "年月" in str(exc.value)


def test_long_table_with_group_like_header_is_not_wide(tmp_path):
    (tmp_path / "l.csv").write_text("姓名,身份证号,补贴项目,所属期,金额,备注_金额\n张一,%s,护理,2022-05,1,x\n" % P1,
                                    encoding="utf-8")
    r = intake_path(tmp_path / "l.csv")
    assert "wide" not in r.summary["files"][0]
    assert r.tables["payouts"]["amount"].tolist() == [100]


def test_detect_and_title_helpers():
    spec = detect_wide(["姓名", "身份证号", "a补贴_标准", "a补贴_金额", "b补贴_实发", "合计_金额"],
                       ["姓名", "身份证号", "a补贴_标准", "a补贴_金额", "b补贴_实发", "合计_金额"])
    assert [(g.subsidy, g.amount, g.standard) for g in spec.groups] == [("a补贴", 3, 2), ("b补贴", 4, None)]
    assert spec.total_columns == [5]
    assert detect_wide(["姓名", "身份证号", "金额"], ["姓名", "身份证号", "金额"]) is None
    period, text, scale = period_from_title(pd.DataFrame([["2022年度 蔡甸区 2022年5月 花名册"], ["单位：万元"]]))
    assert (str(period), text, scale) == ("2022-05", "2022年5月", 10000)
    assert period_from_title(pd.DataFrame([["2022年4月至2022年5月"]]))[0] is None  # two months named: ambiguous

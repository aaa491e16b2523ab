"""Real-world cases B01-B16 (REAL_WORLD_CASES.md) as intake tests; invented fixtures only."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest
import xlwt
from openpyxl.styles import Border, Side

from onecard.core.errors import MissingColumnError, TableNotRecognisedError
from onecard.intake import id_problems, intake_path, load_intake
from onecard.intake.layout import find_layout
from onecard.intake.readers import read_file
from onecard.intake.headers import load_lexicon

P1, P2, P3, P4, P5 = ("110101195803120138", "110101195803124550", "11010119620907804X",
                      "31010419751120516X", "110101196209070136")
K1, K2 = "6228480000000012344", "6217000000000000103"
HEAD = ["姓名", "身份证号", "补贴项目", "发放年月", "金额"]
ROWS = [["张一", P1, "重度残疾人护理补贴", "2022年5月", "1200"], ["王三", P3, "重度残疾人护理补贴", "2022年5月", "800"]]


def _csv(rows, sep=","):
    return "\n".join(sep.join(r) for r in rows) + "\n"


def _conserved(result):
    for e in result.summary["files"]:
        assert e["rows_read"] == e["rows_accepted"] + e["rows_quarantined"], e


def _core(df):
    return df[["name", "person_id", "subsidy", "paid_month", "amount"]].reset_index(drop=True)


def test_b02_csv_id_round_trips_with_blank(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text(_csv([HEAD, ["张一", P1, "护理", "202205", "1200.00"], ["李二", "", "护理", "202205", "800.00"]]),
                 encoding="utf-8")
    r = intake_path(f)
    p = r.tables["payouts"]
    assert p["person_id"].tolist() == [P1]
    assert p["amount"].tolist() == [120000]
    assert r.quarantine["reason"].tolist() == ["id_missing"]
    _conserved(r)


@pytest.mark.parametrize("encoding,sep", [("gbk", ","), ("utf-16", "\t"), ("utf-8", ","), ("utf-8-sig", ","),
                                          ("gb18030", "\t")])
def test_b05_b07_encodings_identical(tmp_path, encoding, sep):
    ref = tmp_path / "ref.csv"
    ref.write_text(_csv([HEAD, *ROWS]), encoding="utf-8")
    f = tmp_path / "x.csv"
    f.write_bytes(_csv([HEAD, *ROWS], sep).encode(encoding))
    a, b = intake_path(ref), intake_path(f)
    pd.testing.assert_frame_equal(_core(a.tables["payouts"]), _core(b.tables["payouts"]))
    expected = {"gbk": "gb18030", "utf-8-sig": "utf-8-sig"}.get(encoding, encoding)
    assert b.summary["files"][0]["encoding"] == expected
    assert "person_id" in b.summary["files"][0]["header_map"].values()


def test_b07_bom_and_quoted_first_header(tmp_path):
    f = tmp_path / "b.csv"
    f.write_bytes(b"\xef\xbb\xbf" + '"身份证号",姓名,补贴项目,所属期,金额\n110101195803120138,张一,护理,2022-05,1\n'.encode())
    r = intake_path(f)
    assert r.tables["payouts"]["person_id"].tolist() == [P1]
    assert list(r.summary["files"][0]["header_map"])[0] == "身份证号"


def _b08_files(tmp_path):
    rows = [HEAD, *ROWS]
    files = {}
    html = "<html><head><meta charset=\"gb2312\"></head><body><table>" + "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows) + "</table></body></html>"
    (tmp_path / "a").mkdir()
    files["a"] = tmp_path / "a" / "发放明细.xls"
    files["a"].write_bytes(html.encode("gb2312"))
    xml = ('<?xml version="1.0"?><?mso-application progid="Excel.Sheet"?>'
           '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
           'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="S1"><Table>'
           + "".join("<Row>" + "".join(f'<Cell><Data ss:Type="String">{c}</Data></Cell>' for c in r) + "</Row>"
                     for r in rows) + "</Table></Worksheet></Workbook>")
    (tmp_path / "b").mkdir()
    files["b"] = tmp_path / "b" / "发放明细.xls"
    files["b"].write_text(xml, encoding="utf-8")
    (tmp_path / "c").mkdir()
    files["c"] = tmp_path / "c" / "发放明细.xls"
    files["c"].write_bytes(_csv(rows, "\t").encode("gbk"))
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    (tmp_path / "d").mkdir()
    files["d"] = tmp_path / "d" / "发放明细.xls"
    wb.save(files["d"])
    book = xlwt.Workbook()
    sh = book.add_sheet("S1")
    for i, r in enumerate(rows):
        for j, c in enumerate(r):
            sh.write(i, j, c)
    (tmp_path / "e").mkdir()
    files["e"] = tmp_path / "e" / "发放明细.xls"
    book.save(str(files["e"]))
    return files


def test_b08_five_disguised_xls_identical(tmp_path):
    files = _b08_files(tmp_path)
    results = {k: intake_path(f) for k, f in files.items()}
    formats = {k: r.summary["files"][0]["format"] for k, r in results.items()}
    assert formats == {"a": "html", "b": "xml2003", "c": "text", "d": "xlsx", "e": "xls"}
    ref = _core(results["a"].tables["payouts"])
    assert ref["person_id"].tolist() == [P1, P3]
    for r in results.values():
        pd.testing.assert_frame_equal(_core(r.tables["payouts"]), ref)


def test_b01_numeric_ids_and_cards_quarantined(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "名单"
    ws.append(["姓名", "身份证号", "残疾证号", "残疾等级"])
    ws.append(["张一", 110101195803120000, P1 + "41", "一级"])
    ws.append(["王三", P3, P3 + "42", "二级"])
    ws.append(["李二", 110101580312013, "", "3级"])
    wb.save(tmp_path / "roster.xlsx")
    wb = openpyxl.Workbook()
    wb.active.append(["持卡人姓名", "持卡人身份证号", "银行卡号"])
    wb.active.append(["张一", P1, 6228480000000010000])
    wb.active.append(["王三", P3, K2])
    wb.save(tmp_path / "cards.xlsx")
    (tmp_path / "pay.csv").write_text(_csv([HEAD + ["银行卡号"], ["张一", P1, "护理", "202205", "1200", K1]]),
                                      encoding="utf-8")
    r = intake_path(tmp_path)
    q = r.quarantine.set_index(["file", "reason"])
    assert ("roster.xlsx", "id_precision_lost") in q.index
    assert ("cards.xlsx", "account_precision_lost") in q.index
    roster = r.tables["roster"]
    assert roster["person_id"].tolist() == [P3, P1]  # the 15-digit numeric old ID is exact: converted
    assert "id_15_converted" in roster["_flags"].iloc[1]
    assert roster["grade"].tolist() == [2, 3] and roster["category"].tolist()[0] == 4
    assert r.tables["payouts"]["account_no"].tolist() == [K1]
    assert r.tables["cards"]["account_no"].tolist() == [K2]
    _conserved(r)


def test_b03_keys_are_text(tmp_path):
    (tmp_path / "p.csv").write_text(_csv([HEAD + ["卡号"], ["张一", P1, "护理", "202205", "1", K1],
                                          ["王三", P3, "护理", "202205", "1", K2]]), encoding="utf-8")
    p = intake_path(tmp_path / "p.csv").tables["payouts"]
    assert str(p["account_no"].dtype) == "string" and str(p["person_id"].dtype) == "string"
    assert p["account_no"].tolist() == [K1, K2]


def _b11_book(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "发放"
    ws.append(["XX区2022年5月残疾人两项补贴发放表"])
    ws.append([])
    ws.append(HEAD)
    for name, pid, amt in (("张一", P1, 1200), ("李二", P2, 800), ("王三", P3, 600)):
        ws.append([name, pid, "重度残疾人护理补贴", "2022年5月", amt])
    ws.append([])
    ws.append(["合计", None, None, None, 2600])
    ws.append(["制表人：测试 审核人：测试"])
    thin = Side(style="thin")
    for r in range(11, 211):
        ws.cell(r, 1).border = Border(left=thin)
    hidden = wb.create_sheet("旧数据")
    hidden.append(HEAD)
    hidden.append(["赵四", P4, "护理", "2022年5月", 1])
    hidden.sheet_state = "hidden"
    wb.save(path)


def test_b11_titles_totals_footers(tmp_path):
    _b11_book(tmp_path / "b11.xlsx")
    r = intake_path(tmp_path / "b11.xlsx")
    p = r.tables["payouts"]
    assert p["person_id"].tolist() == [P1, P2, P3]
    assert p["_row"].tolist() == [4, 5, 6]
    reasons = dict(zip(r.quarantine["row"], r.quarantine["reason"]))
    assert reasons[8] == "total_row" and reasons[9] == "title_or_footer" and reasons[7] == "blank_row"
    e = r.summary["files"][0]
    assert e["checksum"]["total_fen"] == 260000 and e["checksum"]["parsed_fen"] == 260000 and e["checksum"]["ok"]
    assert any(s.get("sheet") == "旧数据" for s in r.summary["skipped"])
    _conserved(r)


def test_b09_merged_two_row_header(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "XX区2022年5月残疾人两项补贴发放花名册"
    ws.merge_cells("A1:G1")
    ws["A2"], ws["G2"] = "填报单位：XX街道", "单位：元"
    for col, text in zip("ABC", ["序号", "姓名", "身份证号"]):
        ws[f"{col}3"] = text
        ws.merge_cells(f"{col}3:{col}4")
    ws["D3"], ws["F3"] = "困难残疾人生活补贴", "重度残疾人护理补贴"
    ws.merge_cells("D3:E3")
    ws.merge_cells("F3:G3")
    for col, text in zip("DEFG", ["标准", "金额", "标准", "金额"]):
        ws[f"{col}4"] = text
    ws.append([1, "张一", P1, 80, 80, 100, 100])
    ws.append([2, "李二", P2, 80, 80, 100, 100])
    wb.save(tmp_path / "花名册.xlsx")
    _, _, sheets = read_file(tmp_path / "花名册.xlsx")
    lay = find_layout(sheets[0], load_lexicon().all_spellings())
    assert lay.header_rows == [3, 4]
    assert lay.headers == ["序号", "姓名", "身份证号", "困难残疾人生活补贴_标准", "困难残疾人生活补贴_金额",
                           "重度残疾人护理补贴_标准", "重度残疾人护理补贴_金额"]
    assert [r for r in lay.body.index if r not in lay.dropped] == [5, 6]
    (tmp_path / "sources.yaml").write_text(
        "花名册.xlsx:\n  table: roster\n  columns:\n    困难残疾人生活补贴_金额: household_id\n", encoding="utf-8")
    with pytest.raises(MissingColumnError):
        intake_path(tmp_path / "花名册.xlsx")  # roster needs grade or cert_no: named, not guessed


def test_b13_amounts(tmp_path):
    vals = ['"1,200.50"', "800元", '"￥1,000"', "—", "（200）", "1200.5.0"]
    names = ["张一", "李二", "王三", "赵四", "刘五", "陈六"]
    ids = [P1, P2, P3, P4, P5, "110101196209070275"]
    (tmp_path / "m.csv").write_text("姓名,身份证号,补贴项目,所属期,金额\n" + "".join(
        f"{n},{i},护理,2022-05,{v}\n" for n, i, v in zip(names, ids, vals)), encoding="utf-8")
    r = intake_path(tmp_path / "m.csv")
    assert r.tables["payouts"]["amount"].tolist() == [120050, 80000, 100000, pd.NA, -20000]
    q = r.quarantine
    assert q["reason"].tolist() == ["unparseable_amount"] and "1200.5.0" in q["detail"].iloc[0]


def test_b14_periods(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "补贴项目", "发放年月", "金额"])
    for v in [44682, "2022年5月", "202205", "2022.05", "2022-5", "2022年5月1日", "22年5月"]:
        ws.append(["张一", P1, "护理", v, 100])
    wb.save(tmp_path / "t.xlsx")
    r = intake_path(tmp_path / "t.xlsx")
    p = r.tables["payouts"]
    assert str(p["period"].dtype) == "period[M]"
    assert p["period"].astype(str).tolist() == ["2022-05"] * 6
    assert all("period_from_paid_month" in f for f in p["_flags"])
    q = r.quarantine
    assert q["reason"].tolist() == ["unparseable_period"] and "22年5月" in q["detail"].iloc[0]


def test_multi_month_split(tmp_path):
    (tmp_path / "q.csv").write_text(_csv([["姓名", "身份证号", "补贴项目", "所属期", "金额"],
                                          ["张一", P1, "护理", "2021年第一季度", "100.00"],
                                          ["王三", P3, "护理", "2021.01-2021.02", "1"]]), encoding="utf-8")
    r = intake_path(tmp_path / "q.csv")
    p = r.tables["payouts"]
    assert p["period"].astype(str).tolist() == ["2021-01", "2021-02", "2021-03", "2021-01", "2021-02"]
    assert p["amount"].tolist() == [3333, 3333, 3334, 50, 50]
    assert all("multi_month" in f for f in p["_flags"])
    e = r.summary["files"][0]
    assert e["rows_read"] == 2 and e["rows_accepted"] == 2 and e["split_rows"] == 2


def test_b15_b16_id_variants(tmp_path):
    variants = ["11010119620907804x", "１１０１０１１９６２０９０７８０４Ｘ", "11010119620907804X\u200b",
                "\u3000110101195803120138", "110101195803120139", "110101580312013"]
    (tmp_path / "v.csv").write_text("姓名,身份证号,补贴项目,所属期,金额\n" + "".join(
        f"某,{v},护理,2022-05,1\n" for v in variants), encoding="utf-8")
    p = intake_path(tmp_path / "v.csv").tables["payouts"]
    assert p["person_id"].tolist() == [P3, P3, P3, P1, "110101195803120139", P1]
    assert "id_checksum" in p["_flags"].iloc[4] and "id_15_converted" in p["_flags"].iloc[5]
    probs = id_problems(pd.Series([P1, "110101195803120139", None, "110101199913320138"]))
    assert probs.tolist()[:2] == [pd.NA, "id_checksum"] and pd.isna(probs.iloc[2])


def test_id_region_history():
    from onecard.intake.ids import id_problem, upgrade_15
    old = upgrade_15("420121580101001")  # 汉阳县, retired 1992: valid for someone born 1958
    assert id_problem(old) is None
    body = "42012119950101001"
    from stdnum.cn.ric import calc_check_digit
    assert id_problem(body + calc_check_digit(body + "0")) == "id_region"  # born after the code ended


def test_guardian_id_and_missing_column(tmp_path):
    (tmp_path / "r.csv").write_text(_csv([["姓名", "身份证号", "残疾等级", "身份证号(监护人)"],
                                          ["张一", P1, "一级", P2]]), encoding="utf-8")
    r = intake_path(tmp_path / "r.csv")
    assert r.tables["roster"]["guardian_id"].tolist() == [P2]
    assert r.tables["roster"]["person_id"].tolist() == [P1]
    (tmp_path / "m.csv").write_text(_csv([["姓名", "身份证号", "银行卡号", "开户行", "发放年月", "发放金额"],
                                          ["张一", P1, K1, "农行", "202205", "1"]]), encoding="utf-8")
    with pytest.raises(MissingColumnError) as exc:
        intake_path(tmp_path / "m.csv")
    msg = str(exc.value)
    assert "m.csv" in msg and "银行卡号" in msg and "subsidy" in msg and "缺少" in msg


def test_unknown_table_lists_closest(tmp_path):
    (tmp_path / "u.csv").write_text(_csv([["姓名", "金额", "备注"], ["张一", "1", "x"]]), encoding="utf-8")
    (tmp_path / "u2.csv").write_text(_csv([["身份证号", "金额", "备注"], [P1, "1", "y"]]), encoding="utf-8")
    with pytest.raises(TableNotRecognisedError) as exc:
        intake_path(tmp_path / "u2.csv")
    assert "u2.csv" in str(exc.value) and "最接近" in str(exc.value)


def test_folder_write_and_load(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _b11_book(data / "b11.xlsx")
    (data / "README.md").write_text("# 说明\n这是说明文件。\n", encoding="utf-8")
    (data / "bad.csv").write_bytes(b"")
    r = intake_path(data)
    assert {s["file"] for s in r.summary["skipped"]} >= {"README.md"}
    assert [u["file"] for u in r.summary["unreadable"]] == ["bad.csv"]
    out = tmp_path / "out"
    r.write(out)
    assert (out / "quarantine.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    summary = json.loads((out / "intake.json").read_text(encoding="utf-8"))
    assert summary["tables"] == {"payouts": 3}
    back = load_intake(out)
    pd.testing.assert_frame_equal(back.tables["payouts"], r.tables["payouts"])


def test_duplicate_rows_only_with_same_serial(tmp_path):
    head = ["流水号", "姓名", "身份证号", "补贴项目", "所属期", "金额"]
    (tmp_path / "d.csv").write_text(_csv([head, ["S1", "张一", P1, "护理", "2022-05", "1"],
                                          ["S1", "张一", P1, "护理", "2022-05", "1"],
                                          ["", "王三", P3, "护理", "2022-05", "1"],
                                          ["", "王三", P3, "护理", "2022-05", "1"]]), encoding="utf-8")
    r = intake_path(tmp_path / "d.csv")
    assert len(r.tables["payouts"]) == 3  # the double payment without serial stays: it may be a finding
    assert r.quarantine["reason"].tolist() == ["duplicate_row"]
    _conserved(r)

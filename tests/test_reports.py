"""Reports an investigator can sign (issue 12): honest money, findings.xlsx, league table,
township data quality, timelines, rings, policy warning; numbers in the HTML equal the
findings and the ledger; PDF text holds the expected Chinese strings."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from onecard.core.findings import finalize
from onecard.core.labels import format_score
from onecard.ledger.money import AT_RISK, OVERPAID, UNDERPAID
from onecard.report.findings_xlsx import MONEY_HEADER, TITLE_HEADER, write_findings_xlsx
from onecard.views.league import league_table, spot_check_targets, typical_cases
from onecard.views.money import money_of

P1, P2, P3 = "110101195803120138", "110101196001010012", "110101197002020026"


def _findings(rows):
    base = {"clause": "3.1.3", "severity": "high", "township": "蔡甸街道", "subject_type": "person",
            "subsidy": "困难残疾人生活补贴", "period_start": "2021-05", "period_end": "2021-05", "months": 1,
            "evidence": "说明"}
    return finalize(pd.DataFrame([{**base, **r} for r in rows]))


@pytest.fixture
def overlapping():
    """One payout row claimed by two over-payment rules; a pooled account that is also a ring."""
    f = _findings([
        {"rule_id": "PAID_AFTER_DEATH", "subject_id": P1, "amount_fen": 7000},
        {"rule_id": "NOT_IN_ROSTER", "subject_id": P1, "amount_fen": 5000, "clause": "3.1.2"},
        {"rule_id": "POOLED_ACCOUNT", "subject_id": "6222000011112222", "subject_type": "account",
         "amount_fen": 13920, "clause": "3.3.1"},
        {"rule_id": "SHARED_IDENTIFIER_RING", "subject_id": "R1", "subject_type": "ring",
         "amount_fen": 13920, "clause": "3.3.2"},
        {"rule_id": "MISSED_MONTH", "subject_id": P2, "amount_fen": 7000, "clause": "3.1.5",
         "severity": "medium"},
        {"rule_id": "SHORT_PAYMENT", "subject_id": P2, "amount_fen": 2000, "clause": "3.1.5",
         "severity": "low"},
    ])
    fid = dict(zip(f["rule_id"], f["finding_id"]))
    pay = lambda r, a: {"table": "payouts", "_file": "发放.xlsx", "_sheet": "蔡甸街道", "_row": r, "amount_fen": a}
    rows = pd.DataFrame([
        {"finding_id": fid["PAID_AFTER_DEATH"], **pay(3, 7000)},
        {"finding_id": fid["NOT_IN_ROSTER"], **pay(3, 5000)},          # same payout row, smaller claim
        *[{"finding_id": fid[r], **pay(n, 6960)} for r in ("POOLED_ACCOUNT", "SHARED_IDENTIFIER_RING")
          for n in (10, 11)],
    ])
    return f, rows


def test_money_categories_count_each_payout_row_once(overlapping):
    f, rows = overlapping
    m = money_of(f, rows)
    assert m.deduplicated
    assert m.totals[OVERPAID] == 7000            # row 3 once, the largest claim
    assert m.totals[AT_RISK] == 13920            # pooled account and its ring: rows 10, 11 once
    assert m.totals[UNDERPAID] == 7000           # P2 × subsidy × 2021-05 once, largest claim
    # risk money is not added to the other two anywhere
    wide = m.by_township.set_index("township").loc["蔡甸街道"]
    assert int(wide[OVERPAID]) + int(wide[UNDERPAID]) == 14000
    per_rule = m.by_rule.set_index("rule_id")["amount_fen"]
    assert per_rule["NOT_IN_ROSTER"] == 5000 and per_rule["POOLED_ACCOUNT"] == 13920
    sections = {s["category"]: s for s in m.sections()}
    assert sections[OVERPAID]["anchor"] == "money-overpaid"
    assert [r["rule_id"] for r in sections[OVERPAID]["rules"]] == ["PAID_AFTER_DEATH", "NOT_IN_ROSTER"]


def test_money_fallback_without_finding_rows(overlapping):
    f, _ = overlapping
    m = money_of(f, None)
    assert not m.deduplicated
    assert m.totals[OVERPAID] == 12000 and m.totals[AT_RISK] == 27840


def test_league_table_ranks_per_1000_with_a_total_row(overlapping):
    f, rows = overlapping
    other = _findings([{"rule_id": "PAID_AFTER_DEATH", "subject_id": P3, "amount_fen": 100, "township": "奓山街道"}])
    f = pd.concat([f, other], ignore_index=True)
    metrics = pd.DataFrame({"街道（乡镇）": ["蔡甸街道", "奓山街道", "消泗乡"], "享受人数": [600, 10, 0]})
    table = league_table(metrics, money_of(f, rows), f)
    assert list(table["township"]) == ["奓山街道", "蔡甸街道", "消泗乡", "合计"]
    assert table["rank"].tolist()[:2] == [1, 2] and table["rank"].isna().tolist()[2:] == [True, True]
    total = table.set_index("township").loc["合计"]
    assert total["findings"] == 7 and total["beneficiaries"] == 610
    assert total[f"{OVERPAID}_fen"] == 7100 and total[f"{AT_RISK}_fen"] == 13920
    assert table.set_index("township").loc["奓山街道", "findings_per_1000"] == 100.0
    reported = pd.Series({"蔡甸街道": 2, "奓山街道": pd.NA, "消泗乡": 0}, dtype="Int64")
    targets = spot_check_targets(table, reported=reported, threshold=1, source="参数").set_index("township")
    assert "上报少于发现" in targets.loc["蔡甸街道", "reason"]
    assert targets.loc["奓山街道", "reason"].startswith("未报送")
    assert targets.loc["消泗乡", "reason"].startswith("零报送")


def test_typical_cases_one_per_rule_family(overlapping):
    f, _ = overlapping
    t = typical_cases(f, families={})          # fallback: clause prefix
    assert t["family"].is_unique
    assert t.set_index("family").loc["3.1", "rule_id"] == "PAID_AFTER_DEATH"   # high, 70 元 beats 50 元
    t = typical_cases(f)                       # catalogue modules
    assert t["family"].is_unique and len(t) == 5      # stops, eligibility, network, payments, amounts
    assert set(t["rule_id"]) >= {"PAID_AFTER_DEATH", "NOT_IN_ROSTER"}


def test_score_formatter_is_one_decimal():
    assert format_score(54.96) == "55.0" and format_score(None) == ""


# -- findings.xlsx --------------------------------------------------------------------

def _sheet(path, name):
    ws = load_workbook(path)[name]
    head = [c.value for c in ws[1]]
    return ws, head


def test_findings_xlsx_is_for_people(tmp_path, overlapping):
    f, _ = overlapping
    f.loc[0, "evidence"] = "=HYPERLINK(\"x\")" + "很长的说明" * 40
    path = write_findings_xlsx(f, tmp_path / "findings.xlsx", titles={"PAID_AFTER_DEATH": "死亡后仍发放"})
    ws, head = _sheet(path, "疑点清单")
    assert head[:4] == ["疑点编号", "规则编号", TITLE_HEADER, "条款"]
    assert "amount_fen" not in head and "涉及金额（分）" not in head
    row = {h: c for h, c in zip(head, ws[2])}
    assert row[MONEY_HEADER].value == 70.0 and row[MONEY_HEADER].number_format == "#,##0.00"
    assert row["风险等级"].value == "高" and row["对象类型"].value == "个人"
    assert row[TITLE_HEADER].value == "死亡后仍发放"
    assert row["疑点说明及依据"].value.startswith("'=")         # formula-safe
    assert row["疑点说明及依据"].alignment.wrap_text
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    col = row["疑点说明及依据"].column_letter
    assert 40 <= ws.column_dimensions[col].width <= 72


def test_findings_xlsx_round_trips_through_ledger_import(tmp_path, overlapping):
    from onecard.cli import main
    from onecard.ledger import open_ledger, upsert_run

    f, rows = overlapping
    db = tmp_path / "ledger.sqlite"
    with open_ledger(db) as led:
        upsert_run(led, f, run_id="r1", period=("2021-01", "2021-12"),
                   rule_status=pd.DataFrame({"rule_id": f["rule_id"].unique(), "checked": True}),
                   townships_with_data=["蔡甸街道"], finding_rows=rows)
        path = write_findings_xlsx(f, tmp_path / "findings.xlsx", ledger=led)
    wb = load_workbook(path)
    ws = wb["核实工作表"]
    head = [c.value for c in ws[1]]
    for col in ("核实情况/处理结果", "整改措施", "责任单位", "整改期限", "认定金额(元)", "校验码", "风险等级"):
        assert col in head, col
    money = ws.cell(2, head.index("涉及金额(元)") + 1)
    assert isinstance(money.value, (int, float)) and money.number_format == "#,##0.00"
    target = ws.cell(2, 1).value
    for col, value in (("处理状态", "属实"), ("核实情况/处理结果", "入户核实，确已死亡"), ("认定金额(元)", 70.0),
                       ("填报人", "李核查")):
        ws.cell(2, head.index(col) + 1, value)
    wb.save(path)
    assert main(["ledger", "import", str(path), "--ledger", str(db)]) == 0
    with open_ledger(db) as led:
        item = led.frame("SELECT status, outcome, money_confirmed_fen FROM items WHERE finding_id = ?",
                         (target,)).iloc[0]
    assert item["status"] == "属实" and item["outcome"] == "入户核实，确已死亡"
    assert int(item["money_confirmed_fen"]) == 7000


# -- rendered reports of a small demo run ----------------------------------------------

@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from onecard.analysis.district import analyse, parse_period
    from onecard.intake import intake_path
    from onecard.policy import load_policy
    from onecard.rules import load_rule_params
    from onecard.synth import generate

    base = tmp_path_factory.mktemp("reports")
    generate(base / "data", seed=11, scale=0.03)
    run_dir = base / "run"
    intake = intake_path(base / "data")
    intake.write(run_dir / "intake")
    policy = load_policy()
    result = analyse(intake.tables, policy, parse_period("2020-01:2021-12"), params=load_rule_params(None),
                     run_id="T", quarantine=intake.quarantine)
    result.save(run_dir / "analysis")
    manifest = {"run_id": "T", "parameters": {"audience": "internal", "policy": "parameters/policy/hubei.yaml"},
                "policy": result.meta.get("policy", {}), "inputs": [{"file": "a.xlsx", "sha256": "ab" * 32}],
                "versions": {"pandas": pd.__version__}, "townships": []}
    (run_dir / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return run_dir


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


@pytest.mark.slow
def test_reports_show_the_categories_and_match_the_findings(demo, tmp_path):
    from pypdf import PdfReader

    from onecard.report.render import render_district_summary, render_township_report
    from onecard.views.money import run_money
    from onecard.views.review import load_run

    run = load_run(demo)
    f = run.analysis.findings
    town = f["township"].value_counts().index[0]
    paths = render_township_report(run, town, tmp_path / town)
    html = paths["html"].read_text(encoding="utf-8")
    text = _text(html)
    m = run_money(run, town)
    from onecard.core.findings import yuan
    for cat, fen in m.totals.items():
        assert f'{cat}</a><b>{yuan(fen)} 元' in html, cat
        assert f"{cat}：{yuan(fen)} 元" in text
    assert "涉及金额（按规则累加）" not in html
    assert f"共 {int((f['township'] == town).sum())} 条疑点" in text
    for anchor in ("money-overpaid", "money-underpaid", "money-at-risk"):
        assert f'href="#{anchor}"' in html and f'id="{anchor}"' in html
    assert "本街道(乡镇)数据质量与核查范围" in text and "本街道接收行" in text
    assert "尚未与官方文件原文核对" in text and "鄂政办发〔2015〕96号" in text
    persons = f[(f["township"] == town) & (f["subject_type"] == "person")]["subject_id"].nunique()
    assert html.count('class="timeline"') == min(5, persons)
    from onecard.graph.params import load_graph_params
    from onecard.views.review import rings_for
    rings = rings_for(run, town)
    drawn = int((rings["score"] >= load_graph_params()["draw_min_score"]).sum()) if not rings.empty else 0
    assert html.count('class="ring"') == drawn
    pdf = "".join(p.extract_text() for p in PdfReader(paths["pdf"]).pages)
    for s in ("疑似多发、应予追回", "应发未发/少发", "资金安全风险", "附录：运行信息", "重点对象时间线"):
        assert s in pdf, s
    book = load_workbook(paths["xlsx"])
    assert book.sheetnames[0] == "疑点清单"

    d = render_district_summary(run, tmp_path)
    html = d["html"].read_text(encoding="utf-8")
    text = _text(html)
    totals = run_money(run).totals
    for cat, fen in totals.items():
        assert f'{cat}</a><b>{yuan(fen)} 元' in html
    total_row = re.search(r'<tr class="total">(.*?)</tr>', html, re.S).group(1)
    cells = _text(total_row).split()
    assert cells[0] == "合计" and cells[2] == f"{len(f):,}"
    assert "二、各街道(乡镇)排名" in text and "三、抽查重点" in text and "四、典型问题" in text
    assert text.index("附录：运行信息") > text.index("四、典型问题")
    assert "SHA-256" not in text[:text.index("附录：运行信息")]
    pdf = "".join(p.extract_text() for p in PdfReader(d["pdf"]).pages)
    for s in ("各街道(乡镇)排名", "抽查重点", "典型问题", "合计"):
        assert s in pdf, s


@pytest.mark.slow
def test_stage_summary_figures_equal_the_ledger_export(demo, tmp_path):
    import datetime as dt

    from onecard.ledger import export_report, open_ledger, set_status, upsert_run
    from onecard.ledger.cells import read_rows
    from onecard.report.summary import render_period_summary
    from onecard.views.review import load_run

    run = load_run(demo, with_network=False)
    f = run.analysis.findings
    db = tmp_path / "ledger.sqlite"
    cutoff = dt.date.today().strftime("%Y-%m-%d")
    with open_ledger(db) as led:
        upsert_run(led, f, run_id="T", period=run.period, rule_status=run.analysis.rule_status,
                   townships_with_data=sorted(f["township"].dropna().unique()))
        first = f["finding_id"].iloc[0]
        set_status(led, first, "核实中", by="李核查")
        set_status(led, first, "属实", by="李核查", fields={"outcome": "属实", "money_confirmed_fen": 12345})
        book = export_report(led, tmp_path / "x", kind="stage", cutoff=cutoff)
    paths = render_period_summary(run, tmp_path, kind="stage", cutoff=cutoff, ledger_path=db)
    html = paths["html"].read_text(encoding="utf-8")
    first_table = html.split("<table class=\"metrics\">")[1].split("</table>")[0]
    shown = [[_text(c).strip() for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)]
             for r in re.findall(r"<tr[^>]*>(.*?)</tr>", first_table, re.S)]
    sheet = read_rows(book, "汇总(按街道)", header_row=5)
    assert shown[0] == list(sheet.columns[:-1])                       # same columns (minus _excel_row)
    by_town = {r[0]: r for r in shown[1:]}
    for rec in sheet.to_dict("records"):
        row = by_town[rec["街道(乡镇)"]]
        assert row[1] == f"{int(rec['疑点（待核实+核实中）']):,}"
        assert row[shown[0].index("属实")] == f"{int(rec['属实']):,}"
        assert row[shown[0].index("认定金额(元)")] == f"{float(rec['认定金额(元)']):,.2f}"
    assert by_town["合计"][shown[0].index("认定金额(元)")] == "123.45"
    assert by_town["合计"][1] == f"{len(f) - 1:,}"
    from pypdf import PdfReader
    pdf = "".join(p.extract_text() for p in PdfReader(paths["pdf"]).pages)
    assert "阶段总结" in pdf and "7月15日前" in pdf


@pytest.mark.slow
def test_i2_tables_beside_graphml(demo, tmp_path):
    from onecard.views.review import export_township_graphs, load_run, rings_for

    run = load_run(demo)
    rings = rings_for(run)
    if rings.empty:
        pytest.skip("demo has no ring")
    town = rings["township"].iloc[0]
    export_township_graphs(run, town, tmp_path / "internal", "internal")
    export_township_graphs(run, town, tmp_path / "public", "public")
    rid = rings["ring_id"].iloc[0]
    ent = pd.read_csv(tmp_path / "internal" / "rings" / f"{rid}_entities.csv", dtype=str, encoding="utf-8-sig")
    links = pd.read_csv(tmp_path / "internal" / "rings" / f"{rid}_links.csv", encoding="utf-8-sig")
    assert list(ent.columns) == ["entity_id", "type", "label", "township"]
    assert list(links.columns) == ["from", "to", "type", "value"]
    assert set(links["from"]) | set(links["to"]) <= set(ent["entity_id"])
    assert (tmp_path / "internal" / "rings" / f"{rid}.graphml").exists()
    members = run.analysis.network_table("ring_members")
    ids = members.loc[members["ring_id"] == rid, "person_id"].tolist()
    assert all(any(i in e for e in ent["entity_id"]) for i in ids)
    number = run.publisher.number(rid)                  # public files are named by 公开编号
    pub = (tmp_path / "public" / "rings" / f"{number}_entities.csv").read_text(encoding="utf-8-sig")
    pub += (tmp_path / "public" / "rings" / f"{number}_links.csv").read_text(encoding="utf-8-sig")
    assert not any(i in pub for i in ids) and rid not in pub
    names = members.loc[members["ring_id"] == rid, "name"].dropna().tolist()
    assert not any(n in pub for n in names if len(n) > 1)
    assert "收款" in pub


@pytest.mark.slow
def test_pack_command_needs_an_audience_and_writes_the_pack(demo, tmp_path):
    from onecard.cli import main

    f = pd.read_parquet(demo / "analysis" / "findings.parquet")
    fid = f.loc[f["subject_type"] == "person", "finding_id"].iloc[0]
    with pytest.raises(SystemExit) as exc:
        main(["pack", fid, "--run", str(demo), "--out", str(tmp_path)])
    assert exc.value.code == 2
    assert main(["pack", fid, "--run", str(demo), "--out", str(tmp_path), "--audience", "internal"]) == 0
    assert (tmp_path / f"{fid}.pdf").exists() and (tmp_path / f"{fid}.html").exists()
    html = (tmp_path / f"{fid}.html").read_text(encoding="utf-8")
    assert "内部资料" in html and fid in html

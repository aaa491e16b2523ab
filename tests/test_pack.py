"""Evidence packs: every cited row, the rule and policy basis, 内部资料 on internal packs,
no identifier or id hash in public packs."""

import pandas as pd
import pytest
from pypdf import PdfReader

from onecard.analysis.district import Analysis
from onecard.core.errors import ParameterError
from onecard.core.findings import finalize
from onecard.policy import load_policy
from onecard.report.pack import build_pack, pack_rows

P1 = "110101195803120138"


class FakeRun:
    """The parts of views.review.Run a pack reads."""

    def __init__(self, folder, findings, tables, finding_rows):
        self.folder = folder
        (folder / "analysis").mkdir(parents=True)
        finding_rows.to_parquet(folder / "analysis" / "finding_rows.parquet", index=False)
        self.analysis = Analysis(findings=findings, rule_status=pd.DataFrame(), recon=None, meta={})
        self._tables = tables
        self.manifest = {"run_id": "T1", "inputs": [{"file": "发放.csv", "bytes": 10, "sha256": "ab" * 32}],
                         "parameters": {"period": "2021-01:2021-12"}, "versions": {"pandas": "3"}}

    def table(self, name):
        return self._tables.get(name)


@pytest.fixture
def run(tmp_path):
    findings = finalize(pd.DataFrame([{
        "rule_id": "PAID_AFTER_DEATH", "clause": "3.1.3", "severity": "high", "township": "蔡甸街道",
        "subject_type": "person", "subject_id": P1, "name": "张一丰", "subsidy": "困难残疾人生活补贴",
        "period_start": "2021-05", "period_end": "2021-06", "months": 2, "amount_fen": 14000,
        "evidence": "死亡后仍发放（来源：发放.csv 第3行；发放.csv 第4行）"}]))
    fid = findings["finding_id"][0]
    payouts = pd.DataFrame({"person_id": [P1] * 3, "name": ["张一丰"] * 3, "amount": [7000, 7000, 7000],
                            "period": pd.PeriodIndex(["2021-04", "2021-05", "2021-06"], freq="M"),
                            "subsidy": ["困难残疾人生活补贴"] * 3,
                            "_file": ["发放.csv"] * 3, "_sheet": [""] * 3, "_row": [2, 3, 4]})
    deaths = pd.DataFrame({"person_id": [P1], "died_on": pd.to_datetime(["2021-04-20"]),
                           "_file": ["死亡.xlsx"], "_sheet": ["名单"], "_row": [7]})
    rows = pd.DataFrame({"finding_id": [fid] * 3, "table": ["payouts", "payouts", "deaths"],
                         "_file": ["发放.csv", "发放.csv", "死亡.xlsx"], "_sheet": ["", "", "名单"],
                         "_row": [3, 4, 7], "amount_fen": [7000, 7000, 0]})
    return FakeRun(tmp_path / "run", findings, {"payouts": payouts, "deaths": deaths}, rows), fid


def test_pack_rows_cite_every_row_with_its_values(run):
    r, fid = run
    groups = {g["table"]: g for g in pack_rows(r, [fid])}
    assert set(groups) == {"一卡通发放明细", "死亡人员"} or len(groups) == 2
    pay = next(g for g in groups.values() if g["count"] == 2)
    assert [row[2] for row in pay["rows"]] == ["3", "4"]
    assert "70.00" in pay["rows"][0] and "张一丰" in pay["rows"][0]


def test_internal_pack_pdf_has_rule_policy_rows_and_internal_mark(run, tmp_path):
    r, fid = run
    out = build_pack(r, fid, tmp_path / "p", "internal", policy=load_policy())
    text = "".join(p.extract_text() for p in PdfReader(out["pdf"]).pages)
    assert out["rows"] == 3
    for expected in ("内部资料", "死亡后仍发放", "PAID_AFTER_DEATH", "湖北省民政厅", "发放.csv", "死亡.xlsx",
                     "核查人", "复核人", fid, P1):
        assert expected in text, expected


def test_public_pack_names_no_id_and_no_person(run, tmp_path):
    r, fid = run
    out = build_pack(r, fid, tmp_path / "p", "public", public_number="GK-0001")
    assert out["pdf"].name == "GK-0001.pdf"
    text = "".join(p.extract_text() for p in PdfReader(out["pdf"]).pages)
    html = out["html"].read_text(encoding="utf-8")
    for leaked in (fid, P1, "张一丰", "内部资料"):
        assert leaked not in text and leaked not in html, leaked


def test_unknown_id_and_missing_audience_are_chinese_errors(run, tmp_path):
    r, _ = run
    with pytest.raises(ParameterError, match="没有编号"):
        build_pack(r, "nope", tmp_path, "internal")
    with pytest.raises(ParameterError, match="audience"):
        build_pack(r, "nope", tmp_path, "")


def test_policy_basis_is_the_standard_in_force_for_the_months(run, tmp_path):
    """2021 months cite the 2021 standard (70 元), not the 2016-2020 one (鄂政办发, 50 元)."""
    r, fid = run
    html = build_pack(r, fid, tmp_path / "p", "internal", policy=load_policy())["html"].read_text(encoding="utf-8")
    assert "70.00" in html and "鄂政办发" not in html

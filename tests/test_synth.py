"""Tests of the demo district generator (``onecard.synth``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from stdnum.cn import ric

from onecard.core import reference
from onecard.synth import DECOY_COLUMNS, QUARANTINE_COLUMNS, TRUTH_COLUMNS, generate
from onecard.synth.base import luhn_ok

RULES = Path("/work/shared/RULES.md")
RULE_IDS = sorted({line.split("`")[1] for line in RULES.read_text(encoding="utf-8").splitlines()
                   if line.startswith("| `")}) if RULES.exists() else []


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth") / "demo"
    summary = generate(out, seed=3, scale=0.05)
    return out, Path(str(out) + "_truth"), summary


def _read(path: Path, **kw) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, **kw)


def test_truth_and_decoy_schema(demo):
    _, truth_dir, _ = demo
    truth = _read(truth_dir / "truth.csv")
    decoys = _read(truth_dir / "decoys.csv")
    quarantine = _read(truth_dir / "quarantine_expected.csv")
    assert list(truth.columns) == TRUTH_COLUMNS
    assert list(decoys.columns) == DECOY_COLUMNS
    assert list(quarantine.columns) == QUARANTINE_COLUMNS
    assert not truth.duplicated(["rule_id", "subject_id", "subsidy"]).any()
    assert set(truth["subsidy"]) <= {"", "困难残疾人生活补贴", "重度残疾人护理补贴"}
    assert set(quarantine["reason"]) == {"id_precision_lost", "id_missing", "blank_row", "total_row",
                                         "title_or_footer", "unparseable_amount"}
    assert (truth_dir / "README.md").exists() and (truth_dir / "summary.json").exists()


@pytest.mark.parametrize("scale", [0.05, 0.02])
def test_every_rule_has_five_cases(demo, tmp_path, scale):
    if scale == 0.05:
        truth = _read(demo[1] / "truth.csv")
    else:
        generate(tmp_path / "small", seed=11, scale=scale)
        truth = _read(tmp_path / "small_truth" / "truth.csv")
    counts = truth.groupby("rule_id")["subject_id"].nunique()
    assert RULE_IDS, "RULES.md not found"
    missing = {r: int(counts.get(r, 0)) for r in RULE_IDS if counts.get(r, 0) < 5}
    assert not missing


def test_decoys_are_never_truth_subjects(demo):
    _, truth_dir, _ = demo
    truth = _read(truth_dir / "truth.csv")
    decoys = _read(truth_dir / "decoys.csv")
    involved = set(truth["subject_id"]) | {x for r in truth["related_ids"] for x in r.split(";") if x}
    assert not set(decoys["subject_id"]) & involved


def test_files_formats_and_headers(demo):
    out, _, summary = demo
    names = [p.name for p in out.iterdir()]
    suffixes = {Path(n).suffix for n in names}
    assert {".xlsx", ".xls", ".csv"} <= suffixes
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)
    gbk = pd.read_csv(out / "发放明细_2021年_开发区及乡场.csv", encoding="gbk", dtype=str)
    assert "证件号码" in gbk.columns and gbk["补贴金额"].str.endswith("元").any()
    roster = pd.read_excel(out / "残疾人基础信息.xlsx", header=2, dtype=str, engine="calamine")
    assert "公民身份号码" in roster.columns
    pay20 = pd.read_excel(out / "一卡通发放明细_2020年.xlsx", sheet_name=None, header=None, dtype=str, engine="calamine")
    assert len(pay20) == 17  # one sheet per township unit
    xls = pd.read_excel(next(out.glob("一卡通发放明细_2021年_*.xls")), dtype=str, engine="calamine")
    assert {"公民身份号码", "实发金额", "手续费"} <= set(xls.columns)
    assert summary["rows"]["payouts"] > 10_000


def test_all_townships_ids_and_cards(demo):
    out, truth_dir, _ = demo
    roster = pd.read_excel(out / "残疾人基础信息.xlsx", header=2, dtype=str, engine="calamine").iloc[:-1]
    assert set(roster["所属街道"]) == set(reference.townships()["name"])
    truth = _read(truth_dir / "truth.csv")
    invalid = set(truth.loc[truth["rule_id"] == "INVALID_ID", "subject_id"])
    ids = roster["公民身份号码"].dropna()
    decoys = _read(truth_dir / "decoys.csv")
    damaged = decoys.loc[decoys["kind"] == "roster_id_precision_lost", "subject_id"].str[:15]
    assert len(damaged) == 2  # two IDs are stored as Excel numbers on purpose
    ids = ids[(ids.str.len() == 18) & ~ids.str[:15].isin(set(damaged))]
    assert len(ids) >= len(roster) - 2
    for pid in ids:
        if pid not in invalid:
            assert ric.calc_check_digit(pid) == pid[17], pid  # takes the full 18 chars
    old = ids[ids.str[:6] == "420121"]
    assert len(old) and (old.str[6:10].astype(int) < 1992).all()
    cards = pd.read_excel(out / "一卡通账户信息.xlsx", dtype=str, engine="calamine").iloc[:-1]
    assert cards["银行账号"].map(luhn_ok).all()


def test_deterministic(demo, tmp_path):
    out, truth_dir, _ = demo
    again = tmp_path / "demo"
    generate(again, seed=3, scale=0.05)
    for name in ("truth.csv", "decoys.csv", "quarantine_expected.csv"):
        assert (truth_dir / name).read_bytes() == (Path(str(again) + "_truth") / name).read_bytes()
    for name in ("发放明细_2021年_开发区及乡场.csv", "亲属关系.csv", "户籍迁出名单.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes()
    a = pd.read_excel(out / "残疾人基础信息.xlsx", dtype=str, engine="calamine")
    b = pd.read_excel(again / "残疾人基础信息.xlsx", dtype=str, engine="calamine")
    pd.testing.assert_frame_equal(a, b)
    s = json.loads((Path(str(again) + "_truth") / "summary.json").read_text(encoding="utf-8"))
    assert s["anomalies"] == json.loads((truth_dir / "summary.json").read_text(encoding="utf-8"))["anomalies"]

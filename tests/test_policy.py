"""Policy as data: loading, extends, validation, standards, deadlines."""

from pathlib import Path

import pandas as pd
import pytest

from onecard.core.errors import PolicyError
from onecard.policy import DEFAULT_POLICY, load_policy

LIVING, CARE = "困难残疾人生活补贴", "重度残疾人护理补贴"
M = lambda s: pd.Period(s, "M")  # noqa: E731


@pytest.fixture(scope="module")
def policy():
    return load_policy()


def write(tmp_path: Path, text: str, name="p.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_default_policy_values(policy):
    assert policy.standard_fen(LIVING, M("2020-12")) == 5000
    assert policy.standard_fen(LIVING, M("2021-01")) == 7000
    assert policy.standard_fen(CARE, M("2016-01")) == 10000
    assert policy.standard_fen(CARE, M("2015-12")) is None
    assert dict(policy.subsidy_names) == {"living": LIVING, "care": CARE}
    assert policy.verified is False
    assert policy.files[0][0].endswith("hubei.yaml") and len(policy.files[0][1]) == 64


def test_aliases_fold_and_unknown_is_na(policy):
    out = policy.canonical_subsidy(pd.Series(["护理补贴", " 生活补贴", "残疾人慰问金", None]))
    assert out.iloc[0] == CARE and out.iloc[1] == LIVING
    assert out.iloc[2:].isna().all()


def test_deadline_is_end_of_following_month(policy):
    d = policy.deadline(pd.Series(pd.PeriodIndex(["2020-01", "2020-12"], freq="M")))
    assert list(d) == [pd.Timestamp("2020-02-29"), pd.Timestamp("2021-01-31")]


def test_policy_is_frozen(policy):
    with pytest.raises(AttributeError):
        policy.title = "x"


def test_caidian_template_extends_baseline():
    p = load_policy(DEFAULT_POLICY.parent / "caidian.yaml")
    assert [Path(f).name for f, _ in p.files] == ["hubei.yaml", "caidian.yaml"]
    assert "蔡甸" in p.title
    assert p.standard_fen(LIVING, M("2021-06")) == 7000


TIERS = """
extends: {base}
subsidies:
  living:
    standards:
      - from: 2016-01
        to: 2020-12
        yuan: 50
        source: {{document: 测试, url: http://example.org}}
      - from: 2021-01
        tiers:
          - {{hukou: urban, grades: [1, 2], yuan: 130}}
          - {{hukou: urban, grades: [3, 4], yuan: 110}}
          - {{hukou: rural, grades: [1, 2], yuan: 100}}
          - {{hukou: rural, grades: [3, 4], yuan: {last}}}
        source: {{document: 测试, url: http://example.org}}
"""


def test_tier_table_vectorised_and_scalar(tmp_path):
    p = load_policy(write(tmp_path, TIERS.format(base=DEFAULT_POLICY, last=80)))
    frame = pd.DataFrame({"subsidy": [LIVING] * 4 + [CARE],
                          "period": pd.PeriodIndex(["2021-03", "2021-03", "2020-03", "2021-03", "2021-03"], freq="M"),
                          "grade": pd.array([1, 4, 4, None, 3], dtype="Int64"),
                          "hukou_type": pd.array(["urban", "rural", "rural", "rural", None], dtype="string")})
    got = p.standards_for(frame)
    assert got.iloc[:3].tolist() == [13000, 8000, 5000]
    assert pd.isna(got.iloc[3])  # tier unknown
    assert got.iloc[4] == 10000  # flat care standard ignores the tier
    assert p.standard_fen(LIVING, M("2021-03"), grade=2, hukou="rural") == 10000
    assert p.is_tiered(LIVING, M("2021-03")) and not p.is_tiered(CARE)


@pytest.mark.parametrize("text, key", [
    ("subsidies: {{living: {{colour: red}}}}", "subsidies.living"),
    ("payment: {{deadline_months: 2}}", "payment"),
    ("stop_events: {{marriage: true}}", "stop_events"),
])
def test_unknown_keys_are_errors(tmp_path, text, key):
    with pytest.raises(PolicyError, match=key.replace(".", r"\.")):
        load_policy(write(tmp_path, f"extends: {DEFAULT_POLICY}\n" + text.format()))


def test_overlapping_dates_error(tmp_path):
    text = f"""extends: {DEFAULT_POLICY}
subsidies:
  care:
    standards:
      - {{from: 2016-01, yuan: 100, source: {{document: a}}}}
      - {{from: 2021-01, yuan: 120, source: {{document: b}}}}
"""
    with pytest.raises(PolicyError, match="重叠"):
        load_policy(write(tmp_path, text))


def test_tier_gap_names_key_and_tier(tmp_path):
    text = TIERS.format(base=DEFAULT_POLICY, last=80).replace(
        "          - {hukou: rural, grades: [3, 4], yuan: 80}\n", "")
    with pytest.raises(PolicyError, match=r"subsidies\.living\.standards.*rural.*等级 3"):
        load_policy(write(tmp_path, text))


def test_unfilled_tier_is_error(tmp_path):
    with pytest.raises(PolicyError, match="未填写"):
        load_policy(write(tmp_path, TIERS.format(base=DEFAULT_POLICY, last="null")))


def test_standard_needs_a_source(tmp_path):
    text = f"""extends: {DEFAULT_POLICY}
subsidies:
  care:
    standards:
      - {{from: 2016-01, yuan: 100}}
"""
    with pytest.raises(PolicyError, match="source"):
        load_policy(write(tmp_path, text))


def test_extended_categories_are_eligible(tmp_path):
    text = f"""extends: {DEFAULT_POLICY}
subsidies:
  care:
    eligibility:
      extended: [{{grades: [3], categories: [5, 6]}}]
"""
    p = load_policy(write(tmp_path, text))
    f = pd.DataFrame({"subsidy": [CARE] * 4, "grade": pd.array([3, 3, 2, None], dtype="Int64"),
                      "category": pd.array([5, 4, 4, 4], dtype="Int64")})
    assert p.grade_eligible(f).tolist() == [True, False, True, True]


def test_missing_file(tmp_path):
    with pytest.raises(PolicyError, match="找不到"):
        load_policy(tmp_path / "nope.yaml")


def _with_standard_source(tmp_path, source: str):
    text = f"""extends: {DEFAULT_POLICY}
subsidies:
  living:
    standards:
      - {{from: 2016-01, to: 2020-12, yuan: 50, source: {source}}}
      - {{from: 2021-01, yuan: 70, source: {{document: 测试文件, verified: false}}}}
"""
    p = tmp_path / "v.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_verified_true_needs_checker_and_date(tmp_path):
    """docs/policy.md: verified: true records who checked the figure and when."""
    with pytest.raises(PolicyError, match="verified_by"):
        load_policy(_with_standard_source(tmp_path, "{document: 鄂政办发〔2015〕96号, verified: true}"))
    with pytest.raises(PolicyError, match="verified_on"):
        load_policy(_with_standard_source(
            tmp_path, "{document: 鄂政办发〔2015〕96号, verified: true, verified_by: 张某, verified_on: 2999-01-01}"))
    with pytest.raises(PolicyError, match="true 或 false"):
        load_policy(_with_standard_source(tmp_path, "{document: 鄂政办发〔2015〕96号, verified: 是}"))


def test_verification_table_lists_each_standard_with_its_checker(tmp_path):
    p = load_policy(_with_standard_source(
        tmp_path, "{document: 鄂政办发〔2015〕96号, verified: true, verified_by: 张某, verified_on: 2026-11-30}"))
    v = p.verification()
    living = v[v["subsidy"] == "困难残疾人生活补贴"].set_index("from")
    assert living.loc["2016-01", ["yuan", "verified", "verified_by", "verified_on"]].tolist() == [
        "50.00", True, "张某", "2026-11-30"]
    assert not living.loc["2021-01", "verified"]
    assert not p.verified  # one unverified figure keeps the warning

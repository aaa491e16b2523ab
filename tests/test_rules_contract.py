"""Contract every registered rule keeps (test ids carry the rule id)."""

import pandas as pd
import pytest

from onecard.core.findings import FINDINGS_COLUMNS
from onecard.rules import RuleContext
from onecard.rules.catalogue import CATALOGUE, _ensure_loaded, catalogue_frame
from scenarios import build

_ensure_loaded()
RULE_IDS = sorted(CATALOGUE)
def _call(r, ctx):
    return r.func(ctx)


@pytest.fixture(scope="module")
def scenario():
    s = build(seed=11, base=30, cases=5)
    if "relations" not in s.tables:  # so OFFICIAL_RELATIVE is walked too: an official and a paid person
        official = s.tables["officials"]["person_id"].iloc[0]
        relative = s.tables["payouts"]["person_id"].iloc[0]
        s.tables["relations"] = pd.DataFrame({
            "official_id": pd.array([official], dtype="string"),
            "relative_id": pd.array([relative], dtype="string"),
            "relation": pd.array(["子女"], dtype="string"),
            "_file": ["亲属关系.csv"], "_sheet": [""], "_row": [2], "_flags": [""]})
    return s


@pytest.fixture(scope="module")
def ctx(scenario):
    return scenario.context()


def _snapshot(tables):
    return {k: v.copy(deep=True) for k, v in tables.items()}


@pytest.mark.parametrize("rule_id", RULE_IDS, ids=RULE_IDS)
def test_registration(rule_id):
    r = CATALOGUE[rule_id]
    assert r.rule_id == rule_id and r.clause[:1] == "3"
    assert r.title_zh and r.title_en and r.severity in ("high", "medium", "low")
    assert "payouts" in r.tables or "roster" in r.tables or r.tables


@pytest.mark.parametrize("rule_id", RULE_IDS, ids=RULE_IDS)
def test_standard_columns_no_mutation_deterministic(rule_id, ctx):
    r = CATALOGUE[rule_id]
    if any(not ctx.has(t) for t in r.tables):
        pytest.skip(f"scenario lacks {r.tables}")
    before = _snapshot(ctx.tables)
    out1 = _call(r, ctx)
    out2 = _call(r, ctx)
    assert list(out1.columns) == [c for c in FINDINGS_COLUMNS if c in out1.columns]
    assert {"subject_type", "subject_id", "evidence"} <= set(out1.columns)
    pd.testing.assert_frame_equal(out1.reset_index(drop=True), out2.reset_index(drop=True))
    for k, v in before.items():
        pd.testing.assert_frame_equal(ctx.tables[k], v)


@pytest.mark.parametrize("rule_id", RULE_IDS, ids=RULE_IDS)
def test_empty_in_empty_out(rule_id, scenario):
    r = CATALOGUE[rule_id]
    empty = {k: v.iloc[:0] for k, v in scenario.tables.items()}
    ctx = RuleContext(empty, scenario.policy, scenario.period)
    if any(not ctx.has(t) for t in r.tables):
        pytest.skip("scenario lacks a table")
    out = _call(r, ctx)
    assert len(out) == 0


def test_catalogue_frame_lists_every_rule():
    f = catalogue_frame()
    assert set(f["rule_id"]) == set(CATALOGUE)
    assert f["title_zh"].str.len().min() > 0

"""Intake of the demo district (``onecard.synth.generate`` at scale 0.05) against its answers.

The generator writes ``<out>_truth/quarantine_expected.csv`` listing every
malformed row it injected (``file, sheet, row, reason``). Intake must
quarantine exactly those rows, with the same reason, recognise every table of
DATA_CONTRACT.md and conserve rows in every file.
"""

from __future__ import annotations

import pandas as pd
import pytest

from onecard.core import tables as schema
from onecard.intake import intake_path

pytestmark = pytest.mark.slow

#: Every table of DATA_CONTRACT.md; the demo supplies all of them.
CONTRACT_TABLES = ["payouts", "roster", "entitlements", "cards", "deaths", "moves", "custody", "dibao",
                   "other_benefits", "officials", "relations", "banks", "disclosures"]
KEY = ["file", "sheet", "row"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    synth = pytest.importorskip("onecard.synth")
    out = tmp_path_factory.mktemp("demo") / "district"
    info = synth.generate(out, seed=0, scale=0.05)
    truth = out.parent / f"{out.name}_truth"
    expected = pd.read_csv(truth / "quarantine_expected.csv", dtype=str, keep_default_na=False)
    return out, info, expected, intake_path(out)


def _quarantine_keys(result) -> pd.DataFrame:
    q = result.quarantine[KEY + ["table", "reason", "detail", "raw"]].copy()
    q["sheet"] = q["sheet"].fillna("").astype(str)
    q["row"] = q["row"].astype(str)
    return q


def test_rows_conserved_per_file(demo):
    _, _, _, result = demo
    assert result.summary["files"]
    for e in result.summary["files"]:
        assert e["rows_read"] == e["rows_accepted"] + e["rows_quarantined"], e
        assert e["rows_quarantined"] == sum(e["quarantined_by_reason"].values()), e


def test_every_contract_table_recognised(demo):
    _, info, _, result = demo
    assert set(CONTRACT_TABLES) <= set(schema.TABLES)
    for table in CONTRACT_TABLES:
        assert table in result.tables, table
        assert len(result.tables[table]) > 0, table
    assert result.summary["unreadable"] == []
    assert [s for s in result.summary["skipped"] if not s["file"].endswith((".md", ".txt"))] == []
    by_table = {}
    for e in result.summary["files"]:
        by_table.setdefault(e["table"], set()).add(e["file"])
    assert all(f.startswith("公示名单") for f in by_table["disclosures"])
    assert not any(f.startswith("公示名单") for f in by_table["payouts"])
    assert len(result.tables["payouts"]) == info["rows"]["payouts"]


def test_expected_quarantine_found_with_same_reason(demo):
    _, _, expected, result = demo
    assert len(expected) > 0
    got = _quarantine_keys(result)
    merged = expected.merge(got, on=KEY, how="left", suffixes=("_expected", "_got"))
    missing = merged[merged["reason_got"].isna()]
    assert missing.empty, missing[KEY + ["reason_expected"]].to_string()
    wrong = merged[merged["reason_got"] != merged["reason_expected"]]
    assert wrong.empty, wrong[KEY + ["reason_expected", "reason_got", "detail"]].to_string()


def test_no_unexpected_quarantine(demo):
    """Nothing beyond the injected rows is quarantined (a disagreement is a bug on one side)."""
    _, _, expected, result = demo
    got = _quarantine_keys(result)
    merged = got.merge(expected[KEY], on=KEY, how="left", indicator=True)
    extra = merged[merged["_merge"] == "left_only"]
    assert extra.empty, extra[KEY + ["reason", "detail"]].to_string()

"""District summary inputs from the ledger: township submissions replace the
townships-file self-reports (零报送 / 少报送 / 未报送, spot-check targets)."""

from __future__ import annotations

import pandas as pd

from onecard.analysis.metrics import METRIC_COLUMNS, apply_submissions
from onecard.ledger import open_ledger, submission_status
from onecard.ledger.manual import import_submissions


def _metrics(towns):
    m = pd.DataFrame({c: [pd.NA] * len(towns) for c in METRIC_COLUMNS})
    m["街道（乡镇）"] = towns
    m["零报送"] = False
    m["抽查重点"] = False
    return m


def test_submissions_drive_zero_few_and_spot_check(tmp_path):
    led = open_ledger(tmp_path / "l.sqlite")
    table = pd.DataFrame({"township": ["甲", "乙", "丙", "丁"],
                          "self_reported": pd.array([0, 1, 5, pd.NA], dtype="Int64")})
    assert import_submissions(led, table, "2021-06", by="test") == 3
    status = submission_status(led, "2021-06", ["甲", "乙", "丙", "丁", "戊"], few_reported_threshold=3,
                               cumulative=True)
    led.close()
    out = apply_submissions(_metrics(["甲", "乙", "丙", "丁", "戊"]), status)
    assert out["报送情况"].tolist() == ["零报送", "少报送", "已报送", "未报送", "未报送"]
    assert out["自查上报问题数"].tolist()[:3] == [0, 1, 5]
    assert out["自查上报问题数"].isna().tolist() == [False, False, False, True, True]
    assert out["零报送"].tolist() == [True, False, False, False, False]
    assert out["抽查重点"].tolist() == [True, True, False, True, True]
    assert list(out.columns).index("报送情况") == list(out.columns).index("自查上报问题数") + 1


def test_township_missing_from_submissions_is_a_target():
    status = pd.DataFrame({"township": ["甲"], "reported_count": pd.array([4], dtype="Int64"),
                           "status": ["已报送"], "spot_check_target": [False]})
    out = apply_submissions(_metrics(["甲", "乙"]), status)
    assert out["抽查重点"].tolist() == [False, True]
    assert out["报送情况"].tolist() == ["已报送", "未报送"]

"""Detection quality on the demo generator, several seeds: every rule, min over rules.

The demo (``onecard synth``) injects >= 5 cases of every rule_id plus legitimate
look-alikes; the whole chain that a run uses (intake of the office files, the
district analysis) must find them: recall >= 0.98 and precision >= 0.95 for every
rule_id, and no finding on a decoy subject. (The independent scenario builder in
``tests/scenarios.py`` holds the same thresholds in ``test_rules_quality.py``.)
"""

from __future__ import annotations

import pandas as pd
import pytest

from onecard.analysis.district import analyse
from onecard.intake import intake_path
from onecard.policy import load_policy
from onecard.rules import load_rule_params
from onecard.rules.catalogue import catalogue_frame
from onecard.synth.detection_quality import score
from onecard.synth import generate

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_rule_found_on_demo_district(tmp_path, seed):
    data = tmp_path / "data"
    generate(data, seed=seed, scale=0.05)
    truth_dir = tmp_path / "data_truth"
    intake = intake_path(data)
    result = analyse(intake.tables, load_policy(), (pd.Period("2020-01", "M"), pd.Period("2021-12", "M")),
                     params=load_rule_params(), quarantine=intake.quarantine)
    status = result.rule_status
    assert status["checked"].all() and (status["error"] == "").all(), status[~status["checked"]]
    truth = pd.read_csv(truth_dir / "truth.csv", dtype=str, keep_default_na=False)
    decoys = pd.read_csv(truth_dir / "decoys.csv", dtype=str, keep_default_na=False)
    table, decoy_hits, _ = score(result.findings, truth, decoys)
    t = table.set_index("rule_id")
    assert set(catalogue_frame()["rule_id"]) <= set(t.index)
    assert (t["truth"] >= 5).all(), t[t["truth"] < 5]
    assert pd.to_numeric(t["recall"]).min() >= 0.98, t.sort_values("recall").head()
    assert pd.to_numeric(t["precision"]).min() >= 0.95, t.sort_values("precision").head()
    assert decoy_hits == 0

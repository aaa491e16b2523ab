import pandas as pd

from onecard.synth.detection_quality import score, summary_line


def frame(rows):
    cols = ["rule_id", "subject_type", "subject_id", "related_ids", "subsidy"]
    return pd.DataFrame(rows, columns=cols)


def test_blank_truth_subsidy_matches_any_and_counts_fp_fn():
    truth = frame([
        ("PAID_AFTER_DEATH", "person", "A", "", "重度残疾人护理补贴"),
        ("PAID_AFTER_DEATH", "person", "B", "", "重度残疾人护理补贴"),
        ("MULTIPLE_ACCOUNTS", "person", "C", "", ""),
    ])
    findings = frame([
        ("PAID_AFTER_DEATH", "person", "A", "", "重度残疾人护理补贴"),
        ("PAID_AFTER_DEATH", "person", "B", "", "困难残疾人生活补贴"),  # wrong subsidy: FP, and B is FN
        ("MULTIPLE_ACCOUNTS", "person", "C", "", ""),
        ("MULTIPLE_ACCOUNTS", "person", "D", "", ""),  # FP on a decoy
    ])
    decoys = pd.DataFrame({"kind": ["card_replacement"], "subject_type": ["person"], "subject_id": ["D"]})
    table, hits, matched = score(findings, truth, decoys)
    t = table.set_index("rule_id")
    assert t.loc["PAID_AFTER_DEATH", ["truth", "found", "TP", "FN", "FP"]].tolist() == [2, 2, 1, 1, 1]
    assert t.loc["PAID_AFTER_DEATH", "recall"] == 0.5
    assert t.loc["MULTIPLE_ACCOUNTS", "precision"] == 0.5
    assert hits == 1
    assert matched.tolist() == [True, False, True, False]
    assert summary_line(table, hits) == "min_recall=0.5000 min_precision=0.5000 decoy_hits=1"


def test_ring_matches_at_75_percent_coverage():
    truth = frame([("SHARED_IDENTIFIER_RING", "ring", "Rtruth", "p1;p2;p3;p4", "")])
    found_3_of_4 = frame([("SHARED_IDENTIFIER_RING", "ring", "Rx", "p1;p2;p3;p9", "")])
    found_2_of_4 = frame([("SHARED_IDENTIFIER_RING", "ring", "Ry", "p1;p2;p8;p9", "")])
    assert score(found_3_of_4, truth)[0].loc[0, "TP"] == 1
    table = score(found_2_of_4, truth)[0]
    assert table.loc[0, "TP"] == 0 and table.loc[0, "FP"] == 1


def test_score_accepts_typed_findings_with_blank_numbers():
    """A findings frame straight from a run (Int64 months with blanks) scores without error."""
    from onecard.core.findings import finalize
    f = finalize(pd.DataFrame({"rule_id": ["ROSTER_STATUS_STALE"], "subject_type": ["person"],
                               "subject_id": ["A"], "months": [pd.NA]}))
    truth = frame([("ROSTER_STATUS_STALE", "person", "A", "", "")])
    table, hits, matched = score(f, truth)
    assert table.loc[0, "TP"] == 1 and matched.tolist() == [True]

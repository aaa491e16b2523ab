"""Chinese-aware name matching (B19): homophones, variants, compound surnames, 重名."""

from __future__ import annotations

import pandas as pd

from onecard.intake.names import match_by_name, name_key, pinyin_keys

P2, P4, P5, P7, P8 = "420114198001010022", "420114198001010044", "420114198001010055", \
    "420114199502030077", "420114196003040088"


def roster():
    return pd.DataFrame({"person_id": [P2, P4, P7, P8],
                         "name": ["张伟", "欧阳 明", "李强", "李强"],
                         "township": ["奓山街道"] * 4, "village": ["星光村", "星光村", "红旗村", "红旗村"]})


def test_b19_ids_decide_and_homophone_is_only_a_note():
    ref = pd.DataFrame({"person_id": [P2, P5, P4], "name": ["章伟", "张玮", "欧阳明"],
                        "township": ["奓山街道"] * 3, "village": ["星光村"] * 3})
    out = match_by_name(ref, roster())
    assert out["person_id"].tolist() == [P2, P5, P4]
    assert out["match_score"].tolist() == [1.0, 0.0, 1.0]
    assert "同音不同字" in out.loc[0, "match_reason"]
    assert "身份证号不同" in out.loc[1, "match_reason"] and "重名" in out.loc[1, "match_reason"]
    assert out.loc[2, "match_reason"] == "身份证号一致；姓名一致"
    assert name_key("欧阳 明") == "欧阳明" and name_key("阿依·买买提") == "阿依买买提"
    assert "zeng guo fan" in pinyin_keys("曾国藩") and "shan xiong xin" in pinyin_keys("单雄信")


def test_no_id_rows_exact_homophone_ambiguous_and_birth_date():
    ref = pd.DataFrame({"name": ["欧阳明", "章伟", "李强", "李强", "李强", "王五"],
                        "township": ["奓山街道"] * 6,
                        "village": ["星光村", "星光村", "红旗村", "红旗村", "红旗村", "星光村"],
                        "birth_date": [None, None, None, "1995-02-03", "1970-01-01", None]})
    ref["_flags"] = "no_id"
    out = match_by_name(ref, roster())
    assert out.loc[0, "person_id"] == P4 and out.loc[0, "match_score"] == 0.9
    assert pd.isna(out.loc[1, "person_id"]) and out.loc[1, "match_score"] == 0.6
    assert out.loc[1, "candidate_id"] == P2 and "同音不同字" in out.loc[1, "match_reason"]
    assert pd.isna(out.loc[2, "person_id"]) and "重名" in out.loc[2, "match_reason"]  # two 李强, no birth date
    assert out.loc[2, "candidate_id"] == f"{P8};{P7}"  # sorted
    assert out.loc[3, "person_id"] == P7 and out.loc[3, "match_score"] == 1.0      # birth date decides
    assert pd.isna(out.loc[4, "person_id"]) and out.loc[4, "match_score"] == 0.0   # both birth dates differ
    assert pd.isna(out.loc[5, "person_id"])
    assert ref.columns.tolist() == ["name", "township", "village", "birth_date", "_flags"]  # not mutated


def test_other_township_or_village_never_matches():
    ref = pd.DataFrame({"name": ["张伟", "张伟"], "township": ["索河街道", "奓山街道"], "village": ["星光村", "红旗村"]})
    out = match_by_name(ref, roster())
    assert out["person_id"].isna().all()

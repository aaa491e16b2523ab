"""The rule-writing kit: missing is unknown, finding rows, message templates,
cannot-clear list, name resolution (SELF_APPROVAL flood of issue 9)."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from graph_fixtures import ctx, frame, pay, pid  # noqa: E402

import onecard.rules.network  # noqa: E402,F401
from onecard.rules.catalogue import CATALOGUE, run_catalogue  # noqa: E402
from onecard.rules.kit import (key_merge, known, known_equal, known_ne, resolve_names,  # noqa: E402
                               source_rows, supplied)

P = [pid(i) for i in range(40)]
OFF, OFF2 = pid(90), pid(91)
K = [f"62170000000000{i:02d}" for i in range(20)]
SUB = "困难残疾人生活补贴"


def roster(ids, town="奓山街道", **extra):
    rows = []
    for i, p in enumerate(ids):
        row = {"person_id": p, "name": f"丙{i}", "household_id": f"H{p[-6:]}", "township": town,
               "village": "星光村", "guardian_id": None}
        row.update(extra.get(p, {}))
        rows.append(row)
    return frame("roster", rows)


# -- missing is unknown ---------------------------------------------------------

def test_known_helpers_treat_missing_as_unknown():
    a = pd.Series(["x", None, "", "y", pd.NA], dtype="string")
    b = pd.Series(["x", None, "", "z", "y"], dtype="string")
    assert known_equal(a, b).tolist() == [True, False, False, False, False]
    assert known_ne(a, b).tolist() == [False, False, False, True, False]
    assert known(pd.array([True, pd.NA, False], dtype="boolean")).tolist() == [True, False, False]
    # the pandas trap the kit exists for: mask with an NA condition writes the value
    cond = pd.Series(pd.array([pd.NA], dtype="boolean"))
    assert pd.Series(["-"]).mask(cond, "本人").iloc[0] == "本人"
    assert pd.Series(["-"]).mask(known(cond), "本人").iloc[0] == "-"


def test_key_merge_drops_blank_keys_on_both_sides():
    left = pd.DataFrame({"k": pd.array(["a", None, ""], dtype="string"), "x": [1, 2, 3]})
    right = pd.DataFrame({"k": pd.array(["a", None, ""], dtype="string"), "y": [4, 5, 6]})
    assert key_merge(left, right, "k")[["x", "y"]].values.tolist() == [[1, 4]]
    assert len(left.merge(right, on="k")) == 3  # what plain pandas does


def test_supplied_absent_blank_and_partly_blank_columns():
    f = pd.DataFrame({"a": pd.array([None, " "], dtype="string"), "b": pd.array([None, "H1"], dtype="string")})
    assert not supplied(f, "a") and not supplied(f, "zz") and supplied(f, "b") and not supplied(None, "b")
    c = ctx(roster=frame("roster", [{"person_id": P[0], "household_id": ""}]))
    assert not c.supplied("roster", "household_id") and not c.supplied("cards", "card_status")


def test_source_rows_split_the_claim_over_a_months_rows():
    months = pd.DataFrame({"subject_id": ["A"], "period": [1], "amount_fen": [1001]})
    rows = pd.DataFrame({"subject_id": ["A", "A", "B"], "period": [1, 1, 1], "amount": [300, 700, 5],
                         "_file": "f.xlsx", "_sheet": "S", "_row": [2, 3, 4]})
    out = source_rows(months, rows, on=["subject_id", "period"], group=["subject_id"])
    assert out[["_row", "amount_fen"]].values.tolist() == [[2, 301], [3, 700]]
    assert set(out["table"]) == {"payouts"}


# -- SELF_APPROVAL: the flood and its cases ------------------------------------

def _ent(rows):
    return frame("entitlements", [{"subsidy": SUB, "start_month": "2021-01", **r} for r in rows])


def test_self_approval_unresolved_approver_never_equals_the_beneficiary():
    """1,678 findings for 5 true cases: an approver on no list resolved to NA and NA
    'equalled' every beneficiary. Now: no finding, each row pending as 未匹配."""
    ent = _ent([{"person_id": P[i], "approver": "曹某"} for i in range(5)])
    payouts = frame("payouts", [pay(P[i], K[i]) for i in range(5)])
    c = ctx(entitlements=ent, payouts=payouts, roster=roster(P[:5]))
    findings, _ = run_catalogue(c, ["SELF_APPROVAL"])
    assert findings.empty
    pend = c.pending_matches
    assert pend["reason"].tolist() == ["未匹配"] * 5 and pend["name"].tolist() == ["曹某"] * 5
    assert pend["_row"].tolist() == [2, 3, 4, 5, 6] and set(pend["column"]) == {"approver"}


def test_self_approval_same_name_is_pending_not_a_finding():
    # two officials named 王某 in the township, one of them the beneficiary's relative
    officials = frame("officials", [{"person_id": OFF, "name": "王某", "township": "奓山街道"},
                                    {"person_id": OFF2, "name": "王某", "township": "奓山街道"}])
    rel = frame("relations", [{"official_id": OFF, "relative_id": P[0], "relation": "子女"}])
    ent = _ent([{"person_id": P[0], "approver": "王某"}])
    c = ctx(entitlements=ent, payouts=frame("payouts", [pay(P[0], K[0])]), officials=officials,
            relations=rel, roster=roster(P[:2]))
    findings, _ = run_catalogue(c, ["SELF_APPROVAL"])
    assert findings.empty
    pend = c.pending_matches
    assert pend["reason"].tolist() == ["重名"] and pend["candidates"].tolist() == [";".join(sorted([OFF, OFF2]))]


def test_self_approval_official_of_another_township_is_not_resolved():
    officials = frame("officials", [{"person_id": OFF, "name": "曹某", "township": "永安街道"}])
    rel = frame("relations", [{"official_id": OFF, "relative_id": P[0], "relation": "子女"}])
    c = ctx(entitlements=_ent([{"person_id": P[0], "approver": "曹某"}]), officials=officials,
            relations=rel, roster=roster(P[:1]), payouts=frame("payouts", [pay(P[0], K[0])]))
    findings, _ = run_catalogue(c, ["SELF_APPROVAL"])
    assert findings.empty and c.pending_matches["reason"].tolist() == ["未匹配"]


def test_self_approval_true_cases_found_once_per_person_and_subsidy():
    officials = frame("officials", [{"person_id": OFF, "name": "曹某", "township": "奓山街道"}])
    rel = frame("relations", [{"official_id": OFF, "relative_id": P[1], "relation": "子女"}])
    ent = _ent([{"person_id": P[0], "approver": "丙0"},                        # self, by unique name
                {"person_id": P[0], "approver": "丙0", "start_month": "2021-06"},  # rate change: same entitlement
                {"person_id": P[1], "approver": "曹某"},                       # relative, unique official
                {"person_id": P[2], "handler": P[2]},                          # self, by ID
                {"person_id": P[3], "approver": "曹某"}])                       # unrelated official
    payouts = frame("payouts", [pay(P[0], K[0], 20000, "2021-01"), pay(P[0], K[0], 20000, "2021-02"),
                                pay(P[1], K[1]), pay(P[3], K[3])])
    c = ctx(entitlements=ent, payouts=payouts, officials=officials, relations=rel, roster=roster(P[:4]))
    findings, _ = run_catalogue(c, ["SELF_APPROVAL"])
    assert findings[["subject_id", "amount_fen"]].values.tolist() == [[P[0], 40000], [P[1], 20000], [P[2], 0]]
    assert "本人" in findings.iloc[0]["evidence"] and "亲属" in findings.iloc[1]["evidence"]
    # finding rows: P0's two payout rows carry its money, its two entitlement rows 0
    fr = c.finding_rows
    f0 = fr[fr["finding_id"] == findings.iloc[0]["finding_id"]]
    assert sorted(f0[["table", "_row", "amount_fen"]].values.tolist()) == [
        ["entitlements", 2, 0], ["entitlements", 3, 0], ["payouts", 2, 20000], ["payouts", 3, 20000]]
    assert set(fr["finding_id"]) == set(findings["finding_id"])


def test_confirmation_resolves_a_pending_name(tmp_path):
    (tmp_path / "confirmations.yaml").write_text(
        f"matches:\n  - table: entitlements\n    name: 曹某\n    township: 奓山街道\n    person_id: '{P[0]}'\n",
        encoding="utf-8")
    ent = _ent([{"person_id": P[0], "approver": "曹某"}, {"person_id": P[1], "approver": "曹某"}])
    c = ctx(entitlements=ent, roster=roster(P[:2]), payouts=frame("payouts", [pay(P[0], K[0])]))
    c.extras["data_dir"] = tmp_path
    findings, _ = run_catalogue(c, ["SELF_APPROVAL"])
    assert findings["subject_id"].tolist() == [P[0]] and c.pending_matches.empty


def test_resolve_names_folds_dots_and_checks_fragments():
    people = pd.DataFrame({"person_id": [P[0], P[1]], "name": ["阿依·买买提", "李四"], "township": ["T", "T"]})
    refs = pd.DataFrame({"name": ["阿依买买提", "李四", "李四"], "township": ["T", "T", "T"],
                         "fragment": [None, P[1][-4:], "9999"]})
    res = resolve_names(refs, people)
    assert res["person_id"].tolist()[:2] == [P[0], P[1]] and pd.isna(res["person_id"].iloc[2])
    assert res["reason"].iloc[2] == "信息不一致"


# -- message templates ----------------------------------------------------------

def test_message_follows_the_parameter():
    payouts = frame("payouts", [pay(P[i], K[0], 10000, "2021-01") for i in range(4)])
    tables = dict(payouts=payouts, roster=roster(P[:4]))
    c3 = ctx(**tables)
    f3, s3 = run_catalogue(c3, ["POOLED_ACCOUNT"])
    assert len(f3) == 1 and "3户及以上" in f3.iloc[0]["evidence"]
    c4 = ctx(**tables)
    c4.params = {"POOLED_ACCOUNT": {"households": 4}}
    f4, s4 = run_catalogue(c4, ["POOLED_ACCOUNT"])
    assert "4户及以上" in f4.iloc[0]["evidence"] and "3户及以上" not in f4.iloc[0]["evidence"]
    assert "4户" in s4.iloc[0]["criterion"]
    c5 = ctx(**tables)
    c5.params = {"POOLED_ACCOUNT": {"households": 5}}
    assert run_catalogue(c5, ["POOLED_ACCOUNT"])[0].empty


def test_every_rule_with_params_has_a_message_using_them():
    import onecard.rules._modules  # noqa: F401
    for r in CATALOGUE.values():
        if r.params:
            assert r.message, r.rule_id
            assert any("{" + k + "}" in r.message for k in r.params), r.rule_id


def test_rule_error_is_a_chinese_sentence_naming_rule_and_column():
    from onecard.rules.catalogue import Rule, error_text
    r = Rule("X_RULE", "1", "测试规则", "t", "low", ("cards",), lambda c: None)
    c = ctx(cards=frame("cards", [{"account_no": K[0], "phone": ""}]))
    text = error_text(c, r, ValueError("Could not convert '' with type str for column phone"))
    assert "X_RULE" in text and "测试规则" in text and "cards.phone" in text
    assert "Could not" not in text and "ValueError" not in text


# -- finding rows over a whole district -------------------------------------------

def test_finding_rows_add_up_to_each_findings_money():
    from scenarios import build
    sc = build(seed=0, base=60, cases=2)
    c = sc.context()
    findings, status = run_catalogue(c)
    assert (status["error"] == "").all()
    fr = c.finding_rows
    assert list(fr.columns) == ["finding_id", "rule_id", "table", "_file", "_sheet", "_row", "amount_fen"]
    assert set(fr["finding_id"]) <= set(findings["finding_id"])
    assert not fr.duplicated(["finding_id", "table", "_file", "_sheet", "_row"]).any()
    # every finding rests on at least one source row, except the roster-derived 应享未享
    missing = set(findings["finding_id"]) - set(fr["finding_id"])
    assert set(findings.loc[findings["finding_id"].isin(missing), "rule_id"]) <= {"ELIGIBLE_NOT_ENROLLED"}
    money = fr.groupby("finding_id")["amount_fen"].sum()
    paid_rules = {"PAID_AFTER_DEATH", "PAID_AFTER_MOVE", "PAID_AFTER_CERT_END", "PAID_IN_CUSTODY",
                  "OVER_STANDARD", "DUPLICATE_PAYMENT", "NO_APPROVAL_RECORD", "LATE_PAYMENT",
                  "FAILED_NOT_RESOLVED", "POOLED_ACCOUNT", "SHARED_IDENTIFIER_RING", "SELF_APPROVAL",
                  "PAYEE_NOT_BENEFICIARY", "OFFICIAL_RELATIVE", "INELIGIBLE_GRADE", "INELIGIBLE_NO_DIBAO",
                  "EXCLUSIVE_BENEFIT", "NOT_IN_ROSTER", "INVALID_ID", "OFFICIAL_RECIPIENT"}
    sel = findings[findings["rule_id"].isin(paid_rules)].set_index("finding_id")
    assert len(sel) > 20
    got = money.reindex(sel.index).fillna(0).astype("int64")
    bad = sel[got.to_numpy() != sel["amount_fen"].astype("int64").to_numpy()]
    assert bad.empty, bad[["rule_id", "amount_fen"]].assign(rows=got[bad.index]).to_string()


def test_reference_rows_without_id_that_do_not_resolve_are_pending():
    r = roster(P[:3], **{P[1]: {"name": "丙0"}})  # two 丙0 in the township
    deaths = frame("deaths", [{"name": "丙0", "township": "奓山街道", "died_on": "2021-03-01"},
                              {"name": "无此人", "township": "奓山街道", "died_on": "2021-03-01"},
                              {"name": "丙2", "township": "奓山街道", "died_on": "2021-03-01"}])
    c = ctx(roster=r, deaths=deaths, payouts=frame("payouts", [pay(P[2], K[2])]))
    run_catalogue(c, ["PAID_AFTER_DEATH"])
    pend = c.pending_matches.sort_values("_row")
    assert pend[["table", "_row", "name", "reason"]].values.tolist() == [
        ["deaths", 2, "丙0", "重名"], ["deaths", 3, "无此人", "未匹配"]]
    assert pend.iloc[0]["candidates"] == ";".join(sorted([P[0], P[1]]))


# -- cannot clear: the exception's column was not supplied --------------------------

def test_pooled_account_without_households_is_listed_not_flagged():
    payouts = frame("payouts", [pay(P[i], K[0], 10000, "2021-01") for i in range(3)])
    r = roster(P[:3]).drop(columns="household_id")
    c = ctx(payouts=payouts, roster=r)
    findings, status = run_catalogue(c, ["POOLED_ACCOUNT"])
    assert findings.empty and int(status.iloc[0]["unresolved"]) == 1
    u = c.unresolved
    assert u[["rule_id", "subject_type", "subject_id", "missing_column"]].values.tolist() == [
        ["POOLED_ACCOUNT", "account", K[0], "roster.household_id"]]
    # blank cells in a supplied column mean "no household": flagged
    r2 = roster(P[:3], **{P[0]: {"household_id": ""}})
    assert len(run_catalogue(ctx(payouts=payouts, roster=r2), ["POOLED_ACCOUNT"])[0]) == 1


def test_payee_without_guardian_column_is_listed_not_flagged():
    payouts = frame("payouts", [pay(P[0], K[1])])
    cards = frame("cards", [{"account_no": K[1], "holder_id": P[5]}])
    c = ctx(payouts=payouts, cards=cards, roster=roster(P[:1]).drop(columns="guardian_id"))
    findings, _ = run_catalogue(c, ["PAYEE_NOT_BENEFICIARY"])
    assert findings.empty and c.unresolved["subject_id"].tolist() == [P[0]]
    assert c.unresolved["missing_column"].tolist() == ["roster.guardian_id"]


def test_analysis_saves_rows_unresolved_and_pending(tmp_path):
    from onecard.analysis.district import analyse, load_analysis
    from scenarios import build
    sc = build(seed=1, base=40, cases=1)
    an = analyse(sc.tables, sc.policy, sc.period)
    an.save(tmp_path)
    for name in ("finding_rows", "cannot_clear", "pending_matches"):
        assert (tmp_path / f"{name}.parquet").exists()
    back = load_analysis(tmp_path, with_network=False)
    assert len(back.finding_rows) == len(an.finding_rows) > 0
    assert set(back.finding_rows["finding_id"]) <= set(an.findings["finding_id"])


def test_catalogue_criterion_follows_parameters():
    from onecard.rules.catalogue import catalogue_frame
    cat = catalogue_frame({"POOLED_ACCOUNT": {"households": 4}}).set_index("rule_id")
    assert "4户" in cat.loc["POOLED_ACCOUNT", "criterion_zh"]
    assert "3户" in catalogue_frame().set_index("rule_id").loc["POOLED_ACCOUNT", "criterion_zh"]

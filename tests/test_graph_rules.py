"""Exact results of every graph rule, and its RULES.md "must NOT flag" cases."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from graph_fixtures import ctx, frame, pay, pid  # noqa: E402

from onecard.rules.catalogue import _ensure_loaded  # noqa: E402
from onecard.core.findings import FINDINGS_COLUMNS, ring_id  # noqa: E402
from onecard.rules.catalogue import CATALOGUE  # noqa: E402

_ensure_loaded()  # every rule module registers (the graph rules among them)

P = [pid(i) for i in range(40)]
OFF, OFF2 = pid(90), pid(91)
K1, K2, K3, K4 = (f"621700000000000{i}" for i in range(1, 5))


def roster(ids, **extra):
    rows = []
    for i, p in enumerate(ids):
        row = {"person_id": p, "name": f"丙{i}", "household_id": f"H{p[-6:]}", "township": "奓山街道",
               "village": "星光村", "guardian_id": None}
        row.update(extra.get(p, {}))
        rows.append(row)
    return frame("roster", rows)


def run(rule_id, **tables):
    out = CATALOGUE[rule_id].func(ctx(**tables))
    assert list(out.columns[:len(FINDINGS_COLUMNS)]) or out.empty
    return out


GRAPH_RULES = ["SHARED_IDENTIFIER_RING", "POOLED_ACCOUNT", "OFFICIAL_ACCOUNT_RECEIVES", "CUSTODIAN_PHONE",
               "OFFICIAL_RELATIVE", "SELF_APPROVAL", "PAYEE_NOT_BENEFICIARY"]


@pytest.mark.parametrize("rule_id", GRAPH_RULES)
def test_registered(rule_id):
    r = CATALOGUE[rule_id]
    assert r.clause and r.title_zh and r.description_zh and r.must_not_flag_zh


def test_ring_and_pooled_both_flag_one_shared_account():
    payouts = frame("payouts", [pay(P[0], K1, 30000, "2021-01"), pay(P[1], K1, 30000, "2021-02"),
                                pay(P[2], K1, 30000, "2021-03"), pay(P[2], K1, 30000, "2021-04", status="failed")])
    cards = frame("cards", [{"account_no": K1, "holder_id": OFF}])
    tables = dict(payouts=payouts, cards=cards, roster=roster(P[:3]))
    ring = run("SHARED_IDENTIFIER_RING", **tables)
    assert len(ring) == 1
    f = ring.iloc[0]
    assert (f["subject_type"], f["subject_id"]) == ("ring", ring_id(P[:3]))
    assert f["related_ids"] == ";".join(sorted(P[:3])) and f["amount_fen"] == 90000
    assert (f["period_start"], f["period_end"], f["months"]) == ("2021-01", "2021-03", 3)
    assert "3户" in f["evidence"] and "payouts.xlsx" in f["evidence"] and f["township"] == "奓山街道"
    pooled = run("POOLED_ACCOUNT", **tables)
    assert pooled[["subject_type", "subject_id", "amount_fen"]].values.tolist() == [["account", K1, 90000]]
    assert pooled.iloc[0]["related_ids"] == ";".join(sorted(P[:3]))


def test_pooled_must_not_flag_household_guardian_institution():
    payouts = frame("payouts", [pay(P[0], K1), pay(P[1], K1), pay(P[2], K1),   # one household
                                pay(P[3], K2), pay(P[4], K2), pay(P[5], K2),   # guardian P3 of wards
                                pay(P[6], K3), pay(P[7], K3), pay(P[8], K3),   # institution
                                pay(P[9], K4), pay(P[10], K4)])                # only 2 households
    hh = f"H{P[0][-6:]}"
    r = roster(P[:11], **{P[1]: {"household_id": hh}, P[2]: {"household_id": hh},
                          P[4]: {"guardian_id": P[3]}, P[5]: {"guardian_id": P[3]}})
    cards = frame("cards", [{"account_no": K3, "holder_id": P[30], "institution": "福利院"}])
    tables = dict(payouts=payouts, roster=r, cards=cards)
    assert run("POOLED_ACCOUNT", **tables).empty
    assert run("SHARED_IDENTIFIER_RING", **tables).empty


def test_official_account_receives():
    payouts = frame("payouts", [pay(OFF, K1), pay(P[0], K1), pay(P[1], K1), pay(P[2], K1), pay(P[3], K2)])
    officials = frame("officials", [{"person_id": OFF, "name": "村主任", "township": "奓山街道",
                                     "account_no": K1},
                                    {"person_id": OFF2, "name": "会计", "township": "奓山街道", "account_no": K2}])
    r = roster([OFF, *P[:4]], **{P[0]: {"household_id": f"H{OFF[-6:]}"}, P[3]: {"guardian_id": OFF2}})
    rel = frame("relations", [{"official_id": OFF, "relative_id": P[1], "relation": "配偶"}])
    out = run("OFFICIAL_ACCOUNT_RECEIVES", payouts=payouts, officials=officials, roster=r, relations=rel)
    # P0 same household, P1 spouse (official's household), P3 ward of OFF2: not flagged; P2 is
    assert out[["subject_type", "subject_id", "related_ids", "amount_fen"]].values.tolist() == [
        ["account", K1, P[2], 20000]]


def test_custodian_phone():
    cards = frame("cards", [
        {"account_no": K1, "holder_id": P[0], "phone": "13900000009"},   # official's phone, outsider
        {"account_no": K2, "holder_id": OFF, "phone": "13900000009"},    # official's own card
        {"account_no": K3, "holder_id": P[1], "phone": "13900000009"},   # official's household member
        {"account_no": "6217000000000011", "holder_id": P[2], "phone": "13700000001"},
        {"account_no": "6217000000000012", "holder_id": P[3], "phone": "13700000001"},
        {"account_no": "6217000000000013", "holder_id": P[4], "phone": "13700000001"},  # 3 households
        {"account_no": "6217000000000014", "holder_id": P[5], "phone": "13700000002"},
        {"account_no": "6217000000000015", "holder_id": P[6], "phone": "13700000002"},  # 2 households only
        *[{"account_no": f"62170000000001{i:02d}", "holder_id": P[10 + i], "phone": "00000000000"}
          for i in range(5)]])                                                      # placeholder
    officials = frame("officials", [{"person_id": OFF, "name": "村支书", "phone": "13900000009"}])
    r = roster([OFF, *P[:15]], **{P[1]: {"household_id": f"H{OFF[-6:]}"}})
    out = run("CUSTODIAN_PHONE", cards=cards, officials=officials, roster=r)
    got = dict(zip(out["subject_id"], out["related_ids"]))
    assert got == {"13900000009": P[0], "13700000001": ";".join(sorted(P[2:5]))}
    assert set(out["subject_type"]) == {"phone"}


def test_official_relative_same_township_only():
    payouts = frame("payouts", [pay(P[0], K1), pay(P[1], K2), pay(P[2], K3)])
    officials = frame("officials", [{"person_id": OFF, "name": "村主任", "position": "村主任", "township": "奓山街道"},
                                    {"person_id": OFF2, "name": "科员", "township": "索河街道"}])
    rel = frame("relations", [{"official_id": OFF, "relative_id": P[0], "relation": "子女"},
                              {"official_id": OFF2, "relative_id": P[1], "relation": "兄弟姐妹"},
                              {"official_id": OFF, "relative_id": P[9], "relation": "配偶"}])  # not paid
    out = run("OFFICIAL_RELATIVE", payouts=payouts, officials=officials, relations=rel, roster=roster(P[:3]))
    assert out[["subject_type", "subject_id", "related_ids", "amount_fen"]].values.tolist() == [
        ["person", P[0], OFF, 20000]]
    assert "子女" in out.iloc[0]["evidence"]


def test_self_approval():
    ent = frame("entitlements", [
        {"person_id": P[0], "subsidy": "困难残疾人生活补贴", "start_month": "2021-01", "approver": "丙0"},  # self (name)
        {"person_id": P[1], "subsidy": "困难残疾人生活补贴", "start_month": "2021-01", "handler": OFF},    # relative
        {"person_id": P[2], "subsidy": "困难残疾人生活补贴", "start_month": "2021-01", "approver": "村主任"},  # relative by name
        {"person_id": P[3], "subsidy": "困难残疾人生活补贴", "start_month": "2021-01", "approver": "会计"}])  # unrelated
    payouts = frame("payouts", [pay(P[0], K1), pay(P[1], K2), pay(P[3], K3)])
    officials = frame("officials", [{"person_id": OFF, "name": "村主任"}, {"person_id": OFF2, "name": "会计"}])
    rel = frame("relations", [{"official_id": OFF, "relative_id": P[1], "relation": "兄弟姐妹"},
                              {"official_id": OFF, "relative_id": P[2], "relation": "兄弟姐妹"}])
    out = run("SELF_APPROVAL", entitlements=ent, payouts=payouts, officials=officials, relations=rel,
              roster=roster(P[:4]))
    assert out[["subject_id", "subsidy", "amount_fen"]].values.tolist() == [
        [P[0], "困难残疾人生活补贴", 20000], [P[1], "困难残疾人生活补贴", 20000], [P[2], "困难残疾人生活补贴", 0]]
    assert "本人" in out.iloc[0]["evidence"] and "亲属" in out.iloc[1]["evidence"]


def test_payee_not_beneficiary():
    payouts = frame("payouts", [pay(P[0], K1), pay(P[1], K2), pay(P[2], K3), pay(P[3], K4),
                                pay(P[4], "6217********0001")])
    cards = frame("cards", [{"account_no": K1, "holder_id": P[0]},            # own
                            {"account_no": K2, "holder_id": P[20]},           # registered guardian
                            {"account_no": K3, "holder_id": P[21]},           # someone else
                            {"account_no": K4, "holder_id": P[22], "institution": "福利院"}])
    r = roster(P[:5], **{P[1]: {"guardian_id": P[20]}})
    out = run("PAYEE_NOT_BENEFICIARY", payouts=payouts, cards=cards, roster=r)
    assert out[["subject_type", "subject_id", "related_ids", "amount_fen"]].values.tolist() == [
        ["person", P[2], K3, 20000]]


@pytest.mark.parametrize("rule_id", GRAPH_RULES)
def test_empty_in_empty_out_and_no_mutation(rule_id):
    tables = {t: frame(t, [{c: None for c in cols}]).iloc[0:0] for t, cols in {
        "payouts": ["person_id", "account_no", "amount", "period", "status"], "cards": ["account_no", "holder_id", "phone"],
        "officials": ["person_id", "name"], "relations": ["official_id", "relative_id", "relation"],
        "entitlements": ["person_id", "subsidy", "approver"], "roster": ["person_id", "name"]}.items()}
    before = {k: v.copy() for k, v in tables.items()}
    assert run(rule_id, **tables).empty
    for k in tables:
        assert tables[k].equals(before[k])


def test_ring_evidence_names_only_identifiers_really_shared():
    """Three households, each with its own card, whose cards carry one reserved phone:
    the evidence names the shared phone, not the members' own accounts as 共用账户."""
    from onecard.rules.network import shared_identifier_ring
    from graph_fixtures import ctx, frame, pay, pid

    people = [pid(i) for i in (1, 2, 3)]
    accts = ["6228480000000000011", "6228480000000000029", "6228480000000000037"]
    payouts = frame("payouts", [pay(p, a) for p, a in zip(people, accts)])
    cards = frame("cards", [{"account_no": a, "holder_id": p, "holder_name": f"人{p[-4:]}",
                             "phone": "13900000003", "bank": "中国农业银行"}
                            for p, a in zip(people, accts)])
    out = shared_identifier_ring(ctx(payouts=payouts, cards=cards))
    assert len(out) == 1
    ev = out.loc[0, "evidence"]
    assert "银行卡预留同一手机号13900000003" in ev and "共用账户" not in ev

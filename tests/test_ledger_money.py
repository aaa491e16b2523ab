"""Non-overlapping money categories, counted once per payout row / person-subsidy-month."""

from __future__ import annotations

import pandas as pd
from onecard.ledger import CATEGORY_OF_RULE, money_by_category
from onecard.ledger.money import AT_RISK, OVERPAID, UNDERPAID
from test_ledger_fixtures import finding, frame, pid, ring


def rows(fid, rownums, amounts, table="payouts"):
    return pd.DataFrame({"finding_id": fid, "table": table, "_file": "发放.xlsx", "_sheet": "s",
                         "_row": rownums, "amount_fen": amounts})


def test_rule_map_covers_the_three_categories():
    assert CATEGORY_OF_RULE["PAID_AFTER_DEATH"] == OVERPAID
    assert CATEGORY_OF_RULE["MISSED_MONTH"] == UNDERPAID
    assert CATEGORY_OF_RULE["SHARED_IDENTIFIER_RING"] == AT_RISK
    assert len([r for r, c in CATEGORY_OF_RULE.items() if c == OVERPAID]) == 11
    assert len([r for r, c in CATEGORY_OF_RULE.items() if c == UNDERPAID]) == 5
    assert len([r for r, c in CATEGORY_OF_RULE.items() if c == AT_RISK]) == 8
    assert "ROSTER_STATUS_STALE" not in CATEGORY_OF_RULE


def test_overpaid_takes_largest_claim_per_payout_row():
    death = finding(amount=30000)                                   # rows 4,5,6 at 10000
    ghost = finding(rule="NOT_IN_ROSTER", amount=60000)             # rows 4..9 at 10000
    over = finding(rule="OVER_STANDARD", start="2021-01", end="2021-01", amount=2000)   # row 4 excess 2000
    f = frame(death, ghost, over)
    ids = f["finding_id"].tolist()
    r = pd.concat([rows(ids[0], [4, 5, 6], [10000] * 3), rows(ids[1], range(4, 10), [10000] * 6),
                   rows(ids[2], [4], [2000]), rows(ids[1], [2], [999], table="roster")])
    m = money_by_category(f, r)
    assert m.totals() == {OVERPAID: 60000, UNDERPAID: 0, AT_RISK: 0}
    by_rule = m.by_rule.set_index("rule_id")["amount_fen"].to_dict()
    assert by_rule == {"NOT_IN_ROSTER": 60000, "OVER_STANDARD": 2000, "PAID_AFTER_DEATH": 30000}


def test_underpaid_once_per_person_subsidy_month():
    short = finding(rule="SHORT_PAYMENT", start="2021-01", end="2021-03", amount=3000)    # 1000/month
    missed = finding(rule="MISSED_MONTH", start="2021-03", end="2021-04", amount=20000)   # 10000/month
    fee = finding(rule="FEE_DEDUCTED", subject=pid(2), start="2021-01", end="2021-01", amount=500)
    m = money_by_category(frame(short, missed, fee))        # no finding_rows
    # Jan 1000, Feb 1000, Mar max(1000, 10000), Apr 10000, + pid2 500
    assert m.totals()[UNDERPAID] == 1000 + 1000 + 10000 + 10000 + 500


def test_uneven_split_keeps_every_fen():
    m = money_by_category(frame(finding(rule="MISSED_MONTH", start="2021-01", end="2021-03", amount=1001)))
    assert m.totals()[UNDERPAID] == 1001


def test_risk_rows_counted_once_and_kept_apart():
    members = [pid(3), pid(4), pid(5)]
    rg = ring(members, amount=30000)
    pooled = finding(rule="POOLED_ACCOUNT", subject="6228480000000012344", subject_type="account", amount=20000,
                     subsidy=None)
    death = finding(amount=10000)
    f = frame(rg, pooled, death)
    ids = f["finding_id"].tolist()
    r = pd.concat([rows(ids[0], [10, 11, 12], [10000] * 3), rows(ids[1], [11, 12], [10000] * 2),
                   rows(ids[2], [12], [10000])])
    m = money_by_category(f, r)
    assert m.totals() == {OVERPAID: 10000, UNDERPAID: 0, AT_RISK: 30000}
    towns = m.by_township.set_index("category")["amount_fen"]
    assert towns[AT_RISK] == 30000 and towns[OVERPAID] == 10000


def test_fallback_without_rows_uses_finding_amount_and_townships_split():
    f = frame(finding(amount=30000), finding(subject=pid(2), township="永安街道", amount=5000))
    m = money_by_category(f)
    got = m.by_township.set_index("township")["amount_fen"].to_dict()
    assert got == {"蔡甸街道": 30000, "永安街道": 5000}
    assert money_by_category(frame()).totals() == {OVERPAID: 0, UNDERPAID: 0, AT_RISK: 0}

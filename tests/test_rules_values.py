"""Exact values (fen, months, subjects, wording) on tiny canonical frames."""

import json
import pandas as pd
import pytest

from onecard.core.errors import ParameterError
from onecard.core.findings import finding_id
from onecard.policy import load_policy
from onecard.rules import load_rule_params
from onecard.rules import RuleContext
from onecard.rules.catalogue import CATALOGUE, _ensure_loaded, run_catalogue
from scenarios import canonical, make_id

CARE, LIVING = "重度残疾人护理补贴", "困难残疾人生活补贴"
PID = make_id("420114", "19580714", 1)
PID2 = make_id("420114", "19600101", 2)
POLICY = load_policy()
_ensure_loaded()
PERIOD = (pd.Period("2020-01", "M"), pd.Period("2021-12", "M"))


def pay(period, amount=10000, pid=PID, subsidy="护理补贴", paid_on=None, status="paid", acct="6228480000000001",
        town="蔡甸街道", **kw):
    m = pd.Period(period, "M")
    return dict(person_id=pid, name="张三", subsidy=subsidy, period=m, amount=amount, status=status,
                paid_on=paid_on or (m.to_timestamp() + pd.Timedelta(days=14)), account_no=acct,
                township=town, village="星光村", bank="中国农业银行", **kw)


def months(a, b, **kw):
    return [pay(m, **kw) for m in pd.period_range(a, b, freq="M")]


def run(rule_id, payouts, **tables):
    t = {"payouts": canonical("payouts", payouts, "发放.xlsx")}
    for k, rows in tables.items():
        t[k] = canonical(k, rows, f"{k}.xlsx")
    ctx = RuleContext(t, POLICY, PERIOD)
    return CATALOGUE[rule_id].func(ctx)


def test_paid_after_death_example():
    out = run("PAID_AFTER_DEATH", months("2020-01", "2021-03"),
              deaths=[dict(person_id=PID, name="张三", died_on="2020-07-14")])
    assert len(out) == 1
    r = out.iloc[0]
    assert (r.subject_id, r.subsidy, r.period_start, r.period_end, r.months, r.amount_fen) == (
        PID, CARE, "2020-08", "2021-03", 8, 80000)
    assert r.evidence.startswith("死亡日期2020-07-14，之后仍发放2020-08至2021-03共8个月重度残疾人护理补贴，"
                                 "合计800.00元（来源：发放.xlsx/Sheet1 第9行；发放.xlsx/Sheet1 第10行；"
                                 "发放.xlsx/Sheet1 第11行 等8行）")
    full, _ = run_catalogue(RuleContext({"payouts": canonical("payouts", months("2020-01", "2021-03"), "发放.xlsx"),
                                         "deaths": canonical("deaths", [dict(person_id=PID, died_on="2020-07-14")], "d.xlsx")},
                                        POLICY, PERIOD), ["PAID_AFTER_DEATH"])
    assert full.loc[0, "finding_id"] == finding_id("PAID_AFTER_DEATH", PID, CARE, "2020-08")


def test_month_of_death_is_payable():
    out = run("PAID_AFTER_DEATH", months("2020-01", "2020-07"),
              deaths=[dict(person_id=PID, name="张三", died_on="2020-07-14")])
    assert out.empty


def test_over_standard_excess_and_raised_standard():
    rows = months("2020-01", "2021-12", subsidy=LIVING, amount=5000)
    for r in rows:
        if r["period"] >= pd.Period("2021-01", "M"):
            r["amount"] = 7000  # the 2021 raise is not an over-payment
    rows[2]["amount"] = 8000   # 2020-03: standard 50 yuan
    rows[13]["amount"] = 9000  # 2021-02: standard 70 yuan
    out = run("OVER_STANDARD", rows)
    assert out[["period_start", "period_end", "months", "amount_fen"]].values.tolist() == [["2020-03", "2021-02", 2, 5000]]
    assert out.iloc[0].subsidy == LIVING


def test_duplicate_across_townships_and_failed_repayment():
    rows = months("2020-01", "2020-06")
    rows.append(pay("2020-05", town="永安街道", paid_on=pd.Timestamp("2020-05-28")))
    rows[1]["status"] = "failed"
    rows.append(pay("2020-02", paid_on=pd.Timestamp("2020-03-10")))
    out = run("DUPLICATE_PAYMENT", rows)
    assert out[["subject_id", "period_start", "months", "amount_fen"]].values.tolist() == [[PID, "2020-05", 1, 10000]]
    assert run("OVER_STANDARD", rows).empty


def test_reversal_nets_against_its_payment():
    rows = months("2020-01", "2020-03")
    rows.append(pay("2020-02", amount=-10000, status="reversed", paid_on=pd.Timestamp("2020-02-20")))
    rows.append(pay("2020-02", paid_on=pd.Timestamp("2020-02-25")))
    assert run("DUPLICATE_PAYMENT", rows).empty
    assert run("SHORT_PAYMENT", rows).empty


def test_short_payment_and_back_pay_made_whole():
    rows = months("2020-01", "2020-12")
    rows[5]["amount"] = 6000
    out = run("SHORT_PAYMENT", rows)
    assert out[["period_start", "months", "amount_fen"]].values.tolist() == [["2020-06", 1, 4000]]
    rows.append(pay("2020-06", amount=4000, paid_on=pd.Timestamp("2020-10-20")))
    assert run("SHORT_PAYMENT", rows).empty
    assert run("SPLIT_PAYMENT", rows).empty
    assert run("LATE_PAYMENT", rows).empty


def test_split_payment():
    rows = months("2020-01", "2020-12")
    rows[3]["amount"] = 5000
    rows.append(pay("2020-04", amount=5000, paid_on=pd.Timestamp("2020-04-25")))
    out = run("SPLIT_PAYMENT", rows)
    assert out[["period_start", "months", "amount_fen"]].values.tolist() == [["2020-04", 1, 0]]
    assert run("SHORT_PAYMENT", rows).empty and run("DUPLICATE_PAYMENT", rows).empty


def test_late_payment_days_and_allowed_back_pay():
    rows = months("2020-01", "2020-12")
    rows[4]["paid_on"] = pd.Timestamp("2020-08-10")  # 2020-05 deadline 2020-06-30
    out = run("LATE_PAYMENT", rows)
    assert out[["period_start", "months", "amount_fen"]].values.tolist() == [["2020-05", 1, 10000]]
    assert "41天" in out.iloc[0].evidence
    backpay = [pay(m, paid_on=pd.Timestamp("2020-06-15")) for m in pd.period_range("2020-03", "2020-06", freq="M")]
    backpay += months("2020-07", "2020-12")
    ent = [dict(person_id=PID, subsidy=CARE, start_month="2020-03", approved_on="2020-06-05")]
    assert run("LATE_PAYMENT", backpay, entitlements=ent).empty
    assert run("LATE_PAYMENT", backpay).empty  # without approval dates: the first batch


def test_missed_month_and_failed_month():
    rows = [r for r in months("2020-01", "2020-12") if r["period"] != pd.Period("2020-04", "M")]
    rows[6]["status"] = "failed"
    ent = [dict(person_id=PID, subsidy=CARE, start_month="2019-01")]
    out = run("MISSED_MONTH", rows, entitlements=ent)
    got = out[["period_start", "period_end", "months", "amount_fen"]].values.tolist()
    assert got == [["2020-04", "2021-12", 13, 130000]]  # 2020-04 and 2021-01..12; not the failed month


def test_failed_not_resolved():
    rows = months("2020-01", "2020-12")
    rows[4].update(status="returned", returned_on=pd.Timestamp("2020-06-03"))
    out = run("FAILED_NOT_RESOLVED", rows)
    assert out[["period_start", "amount_fen"]].values.tolist() == [["2020-05", 10000]]
    rows.append(pay("2020-05", status="to_treasury", paid_on=pd.Timestamp("2020-07-01")))
    assert run("FAILED_NOT_RESOLVED", rows).empty


def test_multiple_accounts_and_replacement():
    rows = months("2020-01", "2020-12")
    for r in rows[6:]:
        r["account_no"] = "6228480000000002"
    cards = [dict(account_no="6228480000000001", holder_id=PID, opened_on="2015-01-01"),
             dict(account_no="6228480000000002", holder_id=PID, opened_on="2020-06-20")]
    # the registry says nothing of closing (no 销户日期, no 卡状态): a clean switch cannot be
    # told from a replacement, so nobody is accused; the person is listed as not clearable
    ctx = RuleContext({"payouts": canonical("payouts", rows, "p.xlsx"),
                       "cards": canonical("cards", cards, "c.xlsx")}, POLICY, PERIOD)
    out, status = run_catalogue(ctx, ["MULTIPLE_ACCOUNTS"])
    assert out.empty
    assert ctx.unresolved[["rule_id", "subject_id", "missing_column"]].values.tolist() == [
        ["MULTIPLE_ACCOUNTS", PID, "cards.card_status"]]
    # paid into both accounts after the switch: a finding whatever the registry says
    both = rows + [dict(r, account_no="6228480000000001") for r in rows[8:9]]
    out = run("MULTIPLE_ACCOUNTS", both, cards=cards)
    assert out[["subject_id", "related_ids", "subsidy"]].values.tolist() == [
        [PID, "6228480000000001;6228480000000002", pd.NA]]
    # a registry that records closing: card 1 open (blank 销户日期 = none) while card 2 is used
    cards[1]["closed_on"] = "2099-01-01"
    out = run("MULTIPLE_ACCOUNTS", rows, cards=cards)
    assert out[["subject_id", "related_ids"]].values.tolist() == [[PID, "6228480000000001;6228480000000002"]]
    cards[0]["closed_on"] = "2020-06-30"
    assert run("MULTIPLE_ACCOUNTS", rows, cards=cards).empty


def test_unlisted_item_subject_is_name():
    rows = months("2020-01", "2020-03") + [pay("2020-02", subsidy="残疾人慰问金", amount=20000)]
    out = run("UNLISTED_ITEM", rows)
    assert out[["subject_type", "subject_id", "amount_fen"]].values.tolist() == [["subsidy", "残疾人慰问金", 20000]]


def test_missing_table_is_not_checked():
    ctx = RuleContext({"payouts": canonical("payouts", months("2020-01", "2020-02"), "p.xlsx")}, POLICY, PERIOD)
    _, status = run_catalogue(ctx, ["PAID_AFTER_DEATH", "OVER_STANDARD"])
    s = status.set_index("rule_id")
    assert not s.loc["PAID_AFTER_DEATH", "checked"] and s.loc["PAID_AFTER_DEATH", "missing_tables"] == "deaths"
    assert s.loc["OVER_STANDARD", "checked"]


def test_rule_params_defaults_and_validation(tmp_path):
    p = load_rule_params()
    assert p["ELIGIBLE_NOT_ENROLLED"] == {"months": 3}
    assert p["FAILED_NOT_RESOLVED"] == {"days": 90} and p["ROSTER_STATUS_STALE"] == {"days": 60}
    bad = tmp_path / "r.yaml"
    bad.write_text("NO_SUCH_RULE: {days: 3}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="NO_SUCH_RULE"):
        load_rule_params(bad)
    bad.write_text("FAILED_NOT_RESOLVED: {weeks: 3}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="weeks"):
        load_rule_params(bad)


def test_missed_month_with_a_damaged_payout_row_accuses_nobody():
    """A month whose payout row was quarantined as id_precision_lost (Excel kept 15 digits)
    is not "没有任何发放记录": the person goes to the 未能排除合法情形 list (B01)."""
    rows = months("2020-01", "2020-06")
    del rows[3]  # 2020-04 lost from the accepted rows ...
    ent = [dict(person_id=PID, subsidy="护理补贴", start_month="2020-01", end_month="2020-06")]
    tables = {"payouts": canonical("payouts", rows, "p.xlsx"), "entitlements": canonical("entitlements", ent, "e.xlsx")}
    ctx = RuleContext(dict(tables), POLICY, PERIOD)
    assert len(CATALOGUE["MISSED_MONTH"].func(ctx)) == 1  # without the quarantined row: a finding
    name = rows[0].get("name", "")
    raw = json.dumps({"身份证号": float(PID[:15] + "000"), "姓名": name}, ensure_ascii=False)
    q = pd.DataFrame({"file": ["p.xlsx"], "sheet": [""], "row": [5], "table": ["payouts"],
                      "reason": ["id_precision_lost"], "detail": [""], "raw": [raw]})
    ctx = RuleContext(dict(tables), POLICY, PERIOD, extras={"quarantine": q})
    out, _ = run_catalogue(ctx, ["MISSED_MONTH"])
    assert out.empty
    assert ctx.unresolved[["rule_id", "subject_id"]].values.tolist() == [["MISSED_MONTH", PID]]

"""The reconciliation table: one row per person x subsidy x month."""

import pandas as pd

from onecard.policy import load_policy
from onecard.recon.prepare import prepare_payouts
from onecard.rules import RuleContext
from scenarios import canonical, make_id

CARE, LIVING = "重度残疾人护理补贴", "困难残疾人生活补贴"
PID = make_id("420114", "19580714", 1)
POLICY = load_policy()
PERIOD = (pd.Period("2020-01", "M"), pd.Period("2020-12", "M"))


def pay(period, amount=10000, paid_on=None, status="paid", subsidy="重残护理补贴", acct="1"):
    m = pd.Period(period, "M")
    return dict(person_id=PID, name="李四", subsidy=subsidy, period=m, amount=amount, status=status,
                paid_on=paid_on or m.to_timestamp() + pd.Timedelta(days=9), account_no=acct, township="蔡甸街道")


def ctx_of(payouts, **tables):
    t = {"payouts": canonical("payouts", payouts, "p.xlsx")}
    t.update({k: canonical(k, v, f"{k}.xlsx") for k, v in tables.items()})
    return RuleContext(t, POLICY, PERIOD)


def test_prepare_folds_aliases_and_keeps_raw():
    p = prepare_payouts(canonical("payouts", [pay("2020-01"), pay("2020-02", subsidy="慰问金")], "p.xlsx"), POLICY)
    assert p["subsidy"].tolist() == [CARE, "慰问金"]
    assert p["subsidy_raw"].tolist() == ["重残护理补贴", "慰问金"]
    assert p["listed"].tolist() == [True, False]


def test_back_pay_counts_for_its_month_and_failed_rows_are_separate():
    rows = [pay("2020-01", 6000), pay("2020-01", 4000, paid_on=pd.Timestamp("2020-05-01")),
            pay("2020-02", status="failed"), pay("2020-02", paid_on=pd.Timestamp("2020-03-20"))]
    rec = ctx_of(rows).recon.set_index("period")
    jan, feb = rec.loc[pd.Period("2020-01", "M")], rec.loc[pd.Period("2020-02", "M")]
    assert (jan.paid_fen, jan.paid_n, jan.ontime_n, jan.max_part_fen, jan.standard_fen) == (10000, 2, 1, 6000, 10000)
    assert (feb.paid_fen, feb.paid_n, feb.failed_n, feb.failed_fen, feb.attempted_n) == (10000, 1, 1, 10000, 2)


def test_stop_events_and_custody_whole_months():
    rows = [pay(m) for m in pd.period_range("2020-01", "2020-12", freq="M")]
    c = ctx_of(rows, deaths=[dict(person_id=PID, died_on="2020-10-03")],
               custody=[dict(person_id=PID, start="2020-03-01", end="2020-04-15"),
                        dict(person_id=PID, start="2020-06-10", end="2020-07-20")])
    rec = c.recon.set_index("period")
    assert rec["stop_event"].dropna().to_dict() == {
        pd.Period("2020-03", "M"): "羁押", pd.Period("2020-11", "M"): "死亡", pd.Period("2020-12", "M"): "死亡"}


def test_coverage_any_day_of_month_and_derived_entitlement():
    rows = [pay(m, 5000, subsidy=LIVING) for m in pd.period_range("2020-01", "2020-06", freq="M")]
    c = ctx_of(rows, roster=[dict(person_id=PID, grade=3, category=4, cert_status="active")],
               dibao=[dict(person_id=PID, program="低保", start_month="2020-02", end_month="2020-04")])
    rec = c.recon
    liv = rec[rec["subsidy"] == LIVING].set_index("period")
    assert liv["covered"].astype(bool).tolist() == [False, True, True, True, False, False]
    assert liv["eligible"].tolist() == [False, True, True, True, False, False]
    assert not (rec["subsidy"] == CARE).any()  # grade 3 limb: not eligible for care

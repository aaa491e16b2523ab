"""The flood classes of issue 9 (LATE_PAYMENT back-pay, MULTIPLE_ACCOUNTS replacements),
reversals in the reconciliation, DISCLOSURE_MISMATCH blank keys and dotted names."""

import pandas as pd

from test_rules_values import PERIOD, PID, POLICY, months, pay, run
from onecard.rules import RuleContext
from onecard.rules.catalogue import run_catalogue
from scenarios import canonical

CARE = "重度残疾人护理补贴"


# -- LATE_PAYMENT: back-pay after an approval that missed the month's payroll ----

def _ent(pid=PID, start="2021-01", approved="2021-03-25"):
    return [dict(person_id=pid, name="张三", subsidy="护理补贴", start_month=start, approved_on=approved)]


def test_backpay_first_paid_two_months_after_approval_is_on_time():
    # approved 2021-03-25, after March's pay day; first batch 2021-05-10 covers Jan..Apr
    rows = [pay(m, paid_on=pd.Timestamp("2021-05-10")) for m in ("2021-01", "2021-02", "2021-03", "2021-04")]
    rows += [pay(m) for m in ("2021-05", "2021-06")]
    assert run("LATE_PAYMENT", rows, entitlements=_ent()).empty


def test_backpay_after_the_deadline_from_the_month_after_approval_is_late():
    rows = [pay(m, paid_on=pd.Timestamp("2021-06-10")) for m in ("2021-01", "2021-02", "2021-03")]
    rows += [pay(m) for m in ("2021-06", "2021-07")]
    out = run("LATE_PAYMENT", rows, entitlements=_ent())
    assert out[["subject_id", "period_start", "period_end", "months", "amount_fen"]].values.tolist() == [
        [PID, "2021-01", "2021-03", 3, 30000]]


def test_true_late_payment_with_an_old_approval_is_still_found():
    rows = months("2021-01", "2021-06")
    rows[3] = pay("2021-04", paid_on=pd.Timestamp("2021-07-20"))  # deadline 2021-05-31
    out = run("LATE_PAYMENT", rows, entitlements=_ent(start="2020-01", approved="2019-12-10"))
    assert out[["period_start", "months", "amount_fen"]].values.tolist() == [["2021-04", 1, 10000]]


# -- MULTIPLE_ACCOUNTS: replacement marked 销户 without a closing date ------------

def _switch_rows(both_after=False):
    rows = months("2020-01", "2020-12")
    for r in rows[6:]:
        r["account_no"] = "6228480000000002"
    if both_after:
        rows.append(pay("2020-09", acct="6228480000000001", amount=10000))
    return rows


def _cards(status="销户"):
    return [dict(account_no="6228480000000001", holder_id=PID, opened_on="2015-01-01", card_status=status),
            dict(account_no="6228480000000002", holder_id=PID, opened_on="2020-07-01", card_status="正常")]


def test_card_closed_by_status_without_date_is_a_replacement():
    assert run("MULTIPLE_ACCOUNTS", _switch_rows(), cards=_cards("销户")).empty
    assert run("MULTIPLE_ACCOUNTS", _switch_rows(), cards=_cards("注销")).empty


def test_closed_status_with_payments_into_both_after_the_switch_is_flagged():
    out = run("MULTIPLE_ACCOUNTS", _switch_rows(both_after=True), cards=_cards("销户"))
    assert out[["subject_id", "related_ids"]].values.tolist() == [[PID, "6228480000000001;6228480000000002"]]


def test_open_old_card_is_still_several_accounts():
    out = run("MULTIPLE_ACCOUNTS", _switch_rows(), cards=_cards("正常"))
    assert out["subject_id"].tolist() == [PID]


# -- reversals netted per month --------------------------------------------------

def _ctx(payouts, **tables):
    t = {"payouts": canonical("payouts", payouts, "发放.xlsx")}
    for k, rows in tables.items():
        t[k] = canonical(k, rows, f"{k}.xlsx")
    return RuleContext(t, POLICY, PERIOD)


def _care_ent():
    return [dict(person_id=PID, name="张三", subsidy="护理补贴", start_month="2020-01", end_month="2020-06")]


def test_reversed_month_is_kept_and_netted_and_becomes_a_missed_month():
    rows = months("2020-01", "2020-06")
    rows.append(pay("2020-03", amount=-10000, paid_on=pd.Timestamp("2020-04-20")))  # 冲正 of March
    ctx = _ctx(rows, entitlements=_care_ent())
    rec = ctx.recon.set_index("period")
    mar = rec.loc[pd.Period("2020-03", "M")]
    assert (int(mar["net_paid_fen"]), int(mar["reversal_n"]), int(mar["live_n"])) == (0, 2, 0)
    f, _ = run_catalogue(ctx, ["MISSED_MONTH", "SHORT_PAYMENT"])
    assert f[["rule_id", "period_start", "months", "amount_fen"]].values.tolist() == [
        ["MISSED_MONTH", "2020-03", 1, 10000]]


def test_partial_reversal_gives_a_short_payment_and_negative_net_is_shown():
    rows = months("2020-01", "2020-06")
    rows.append(pay("2020-02", amount=-4000, paid_on=pd.Timestamp("2020-03-20")))   # partial 冲正
    rows.append(pay("2020-05", amount=-10000, paid_on=pd.Timestamp("2020-06-20")))
    rows.append(pay("2020-05", amount=-10000, paid_on=pd.Timestamp("2020-06-21")))  # reversed twice
    ctx = _ctx(rows, entitlements=_care_ent())
    rec = ctx.recon.set_index("period")
    assert int(rec.loc[pd.Period("2020-02", "M"), "net_paid_fen"]) == 6000
    assert int(rec.loc[pd.Period("2020-05", "M"), "net_paid_fen"]) == -10000
    f, _ = run_catalogue(ctx, ["MISSED_MONTH", "SHORT_PAYMENT"])
    assert sorted(f[["rule_id", "period_start", "amount_fen"]].values.tolist()) == [
        ["MISSED_MONTH", "2020-05", 10000], ["SHORT_PAYMENT", "2020-02", 4000]]


# -- DISCLOSURE_MISMATCH ---------------------------------------------------------

LIV = "困难残疾人生活补贴"


def _pub(name, amount, pid=None, period="2021-03"):
    return dict(person_id=pid, name=name, subsidy=LIV, period=period, amount=amount, township="蔡甸街道")


def test_disclosure_without_ids_never_fuses_people():
    from scenarios import make_id
    people = [(make_id("420114", "19600101", i), n) for i, n in enumerate(["张一", "李二", "王三", "赵四", "钱五"], 1)]
    rows = [pay("2021-03", pid=p, subsidy=LIV, amount=30000) for p, n in people]
    for r, (_, n) in zip(rows, people):
        r["name"] = n
    pub = [_pub(n, 30000) for _, n in people]
    out = run("DISCLOSURE_MISMATCH", rows, disclosures=pub)
    assert out.empty
    # one true difference among them is found for that person only, with a subject
    pub[2]["amount"] = 20000
    out = run("DISCLOSURE_MISMATCH", rows, disclosures=pub)
    assert out[["subject_id", "amount_fen"]].values.tolist() == [[people[2][0], 10000]]


def test_disclosure_minority_name_with_and_without_middle_dot():
    from scenarios import make_id
    p = make_id("420114", "19700101", 7)
    rows = [pay("2021-03", pid=p, subsidy=LIV, amount=30000)]
    rows[0]["name"] = "阿依·买买提"
    masked = p[:6] + "********" + p[-4:]
    assert run("DISCLOSURE_MISMATCH", rows, disclosures=[_pub("阿依买买提", 30000, pid=masked)]).empty
    assert run("DISCLOSURE_MISMATCH", rows, disclosures=[_pub("阿依 买买提", 30000)]).empty
    out = run("DISCLOSURE_MISMATCH", rows, disclosures=[_pub("阿依买买提", 20000, pid=masked)])
    assert out[["subject_id", "amount_fen"]].values.tolist() == [[p, 10000]]

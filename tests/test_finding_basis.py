"""Every finding states the values compared and its policy basis (issue 12 item 3).

Each test builds a tiny delivery in code and asserts the exact basis text of one
rule: the values compared and the document / policy key / effective months from
the policy file (``parameters/policy/hubei.yaml``).
"""

import pandas as pd

from test_rules_values import CARE, LIVING, PID, POLICY, months, run

DEADLINE_DOC = POLICY.payment_document
STOP_DOC = POLICY.stop_document


def test_policy_exposes_the_documents_rules_cite():
    assert DEADLINE_DOC.startswith("默认口径（RULES.md LATE_PAYMENT")
    assert STOP_DOC.startswith("蔡甸区一卡通专项治理")
    assert POLICY.eligibility_document[CARE].startswith("鄂政办发〔2015〕96号")


def test_late_payment_states_deadline_and_policy():
    rows = months("2020-01", "2020-12")
    rows[4]["paid_on"] = pd.Timestamp("2020-08-10")  # 2020-05 deadline 2020-06-30
    f = run("LATE_PAYMENT", rows).iloc[0]
    assert ("（最迟超期41天：所属期2020-05的发放期限为2020-06-30，实际2020-08-10发放；"
            f"政策：payment.deadline_months_after=1，文件：{DEADLINE_DOC}）") in f.evidence


def test_over_standard_states_paid_vs_standard_and_document():
    rows = months("2021-01", "2021-06", subsidy=LIVING, amount=7000)
    rows[2]["amount"] = 12000
    f = run("OVER_STANDARD", rows).iloc[0]
    assert "按标准应发70.00元，实发120.00元，超标准多发50.00元" in f.evidence
    assert ("（每月实发120.00元，标准70.00元；标准依据：湖北省民政厅 湖北省财政厅 2021-06-11 通知（据报道）"
            "（2021-01起））") in f.evidence


def test_short_payment_over_a_raise_names_both_standards():
    rows = months("2020-11", "2021-02", subsidy=LIVING, amount=3000)
    f = run("SHORT_PAYMENT", rows).iloc[0]
    assert (f.period_start, f.period_end, f.amount_fen) == ("2020-11", "2021-02", 2 * 2000 + 2 * 4000)
    assert ("（每月实发30.00元，标准50.00至70.00元；标准依据：鄂政办发〔2015〕96号（2016-01至2020-12）；"
            "湖北省民政厅 湖北省财政厅 2021-06-11 通知（据报道）（2021-01起））") in f.evidence


def _roster(pid, grade, category, cert_no, **kw):
    return dict(person_id=pid, name="张三", grade=grade, category=category, cert_no=cert_no,
                cert_status="active", township="蔡甸街道", village="星光村", **kw)


def test_cert_id_mismatch_states_both_values():
    other = PID[:-1] + ("0" if PID[-1] != "0" else "1")
    f = run("CERT_ID_MISMATCH", months("2020-01", "2020-02"),
            roster=[_roster(PID, 1, 4, other + "53")]).iloc[0]
    assert f.evidence.startswith(
        f"残疾人证号{other}53（20位）：证号前18位{other}与身份证号{PID}不同；"
        "证号第19位类别数字为5智力，花名册类别为4肢体；证号第20位等级数字为3三级，花名册等级为1一级"
        "（证号规则：前18位为持证人身份证号，第19位类别、第20位等级；DATA_CONTRACT.md cert_no）")


def test_cert_id_mismatch_same_in_both_row_orders():
    rows = [_roster(PID, 1, 4, PID + "43"), _roster(PID, 1, 4, PID + "42")]
    a = run("CERT_ID_MISMATCH", months("2020-01", "2020-02"), roster=rows)
    b = run("CERT_ID_MISMATCH", months("2020-01", "2020-02"), roster=rows[::-1])
    assert a["evidence"].tolist() != [] and len(a) == 1
    # the same source row (the first in file/sheet/row order of its own file) is named
    assert "另有1条证号不符的记录" in a.iloc[0].evidence and "另有1条证号不符的记录" in b.iloc[0].evidence


def test_ineligible_grade_states_grade_and_covered_grades():
    rows = months("2020-01", "2020-03")
    f = run("INELIGIBLE_GRADE", rows, roster=[_roster(PID, 3, 4, PID + "43")]).iloc[0]
    assert f.evidence.startswith(
        "花名册登记为肢体三级，不在重度残疾人护理补贴的政策覆盖范围（政策覆盖一级、二级（各类别）"
        f"（文件：{POLICY.eligibility_document[CARE]}）），仍发放2020-01至2020-03共3个月合计300.00元")


def test_ineligible_grade_on_a_resolved_conflict_says_so():
    rows = months("2020-01", "2020-12")
    roster = [_roster(PID, 3, 4, PID + "43", cert_issued="2015-03-01"),
              _roster(PID, 1, 4, PID + "41", cert_issued="2020-06-10")]
    for order in (roster, roster[::-1]):
        out = run("INELIGIBLE_GRADE", rows, roster=order)
        assert out[["period_start", "period_end", "months"]].values.tolist() == [["2020-01", "2020-05", 5]]
        assert "花名册登记为肢体三级（花名册有2条证件记录，按发证日期逐月适用）" in out.iloc[0].evidence


def test_ineligible_grade_unresolved_conflict_is_not_checkable():
    from onecard.rules import RuleContext
    from onecard.rules.catalogue import CATALOGUE
    from scenarios import canonical
    from test_rules_values import PERIOD
    t = {"payouts": canonical("payouts", months("2020-01", "2020-03"), "发放.xlsx"),
         "roster": canonical("roster", [_roster(PID, 3, 4, PID + "43"), _roster(PID, 1, 4, PID + "41")],
                             "roster.xlsx")}
    ctx = RuleContext(t, POLICY, PERIOD)
    assert CATALOGUE["INELIGIBLE_GRADE"].func(ctx).empty
    cc = pd.concat(ctx.extras["_unresolved"])
    assert cc[["rule_id", "subject_id", "missing_column"]].values.tolist() == [
        ["INELIGIBLE_GRADE", PID, "roster.cert_issued"]]


def test_paid_after_death_states_event_source_and_stop_rule():
    f = run("PAID_AFTER_DEATH", months("2020-01", "2020-10"),
            deaths=[dict(person_id=PID, name="张三", died_on="2020-07-14")]).iloc[0]
    assert f.evidence.endswith(
        "（依据：死亡日期来源于死亡名单（deaths.xlsx）；事件当月可发，2020-08起应停发；"
        f"政策：stop_events.death=true，文件：{STOP_DOC}）")


def test_paid_after_move_states_event_source_and_stop_rule():
    f = run("PAID_AFTER_MOVE", months("2020-01", "2020-10"),
            moves=[dict(person_id=PID, name="张三", moved_on="2020-05-03", destination="广东省深圳市")]).iloc[0]
    assert f.evidence.endswith(
        "（依据：迁出日期来源于户籍迁出名单（moves.xlsx）；事件当月可发，2020-06起应停发；"
        f"政策：stop_events.move_out=true，文件：{STOP_DOC}）")

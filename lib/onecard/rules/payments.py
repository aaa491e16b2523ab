"""Clauses 3.1.1-3.1.2: item list, lateness, missed months, 应享未享.

Notes
-----
``FOCUS_PROBLEMS.md`` 3.1.1 (items outside the published list) and 3.1.2 (paid
late or short; eligible people not receiving). Deadlines and back-pay rules come
from the policy file's ``payment`` section; N from ``parameters/rules.yaml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import rule
from .context import RuleContext
from .kit import (citations, deadline_basis, empty_findings, finish, is_known, known, per_subject, period_rows,
                  span_text, ym, yuan_text)
from .stops import recon_findings

KEY = ["person_id", "subsidy", "period"]


@rule("UNLISTED_ITEM", clause="3.1.1", title_zh="补贴项目不在政策清单",
      title_en="Subsidy item not in the policy list", severity="medium", tables=("payouts",),
      description_zh="发放的补贴项目名称（经别名归并后）不在所属期的政策补贴项目清单内。",
      must_not_flag_zh="政策文件列出的别名写法。")
def unlisted_item(ctx: RuleContext) -> pd.DataFrame:
    """Item names not in the policy list for the period, after alias folding.

    A listed item paid for a month in which the policy has no standard in force
    is also unlisted for that period.

    Returns
    -------
    DataFrame
        ``subject_type`` subsidy, ``subject_id`` the item name as paid,
        ``subsidy`` blank, ``related_ids`` the beneficiaries (at most 20),
        ``amount_fen`` all paid under it (fen).

    Notes
    -----
    Clause 3.1.1 (政策清单之外的项目). The list and aliases: policy ``subsidies``.
    """
    p = period_rows(ctx)
    p = p[p["ok"].to_numpy(bool)]
    bad = ~p["listed"].to_numpy(bool) | ~ctx.policy.months_listed(p).to_numpy(bool)
    p = p[bad]
    if p.empty:
        return empty_findings()
    item = p["subsidy_raw"].astype("string").str.strip().fillna("（空）")
    p = p.assign(item=item)
    months = p[["item", "period", "township", "village", "person_id"]].assign(
        amount_fen=p["amount"].fillna(0).astype("int64"))
    out = per_subject(months, subject="item", subsidy=False, first=("township", "village"),
                      extra={"people": ("person_id", "nunique"),
                             "related_ids": ("person_id", lambda s: ";".join(sorted(set(s.dropna()))[:20]))})
    c = citations(months.rename(columns={"item": "subject_id"}), p.rename(columns={"item": "subject_id"}),
                  on=["subject_id", "period"], group=["subject_id"])
    out = out.merge(c, on="subject_id", how="left")
    ev = pd.Series([f"补贴项目“{r.subject_id}”不在政策补贴项目清单内（或所属期无适用标准），"
                    f"{span_text(r.period_start, r.period_end, r.months)}向{r.people}人发放合计"
                    f"{yuan_text(r.amount_fen)}{r.cite if isinstance(r.cite, str) else ''}"
                    for r in out.itertuples(index=False)], index=out.index)
    return finish(out, "subsidy", ev)


def _allowed_backpay(ctx: RuleContext, p: pd.DataFrame) -> pd.Series:
    """Bool per successful payout row: back-pay the policy allows after a new approval.

    With an approval date (``entitlements.approved_on``): periods from the
    entitlement's start month through the month after the approval month, paid
    by the policy deadline counted from the month *after* the approval month (an
    approval can miss that month's payroll: approved 2021-03-25, back-pay for
    2021-01..03 paid by 2021-05-31 is on time with the default deadline, later is
    late). The entitlement rows of one person and item that run on without a gap
    (rate change, renewal) are one entitlement (``prepare.entitlement_spells``):
    its start and the approval of the row in effect in its first month count. Without an approval date: the payments made in the first month
    anything was paid to the person for the item, for periods up to that month.
    """
    allowed = pd.Series(False, index=p.index)
    if not ctx.policy.backpay_after_approval or p.empty:
        return allowed
    pid = p["person_id"].astype("string")
    paid_m = p["paid_on"].dt.to_period("M")
    key = pid + "|" + p["subsidy"].astype("string")
    first_m = paid_m.groupby(key).transform("min")
    fallback = (paid_m == first_m) & (p["period"] <= first_m)
    approved = pd.Series(False, index=p.index)
    has_approval = pd.Series(False, index=p.index)
    if ctx.has("entitlements") and "approved_on" in ctx.tables["entitlements"]:
        from ..recon.prepare import entitlement_spells
        # one entitlement per unbroken run of months: a rate change or renewal row
        # continues it and opens no new back-pay window (issue 9 item 3)
        e = entitlement_spells(ctx.tables["entitlements"], ctx.policy, *ctx.period)
        e = e[e["approved_on"].notna() & e["person_id"].notna()]
        e = pd.DataFrame({"person_id": e["person_id"].astype("string").to_numpy(),
                          "subsidy": e["subsidy"].astype("string").to_numpy(),
                          "start_month": pd.PeriodIndex(e["start_month"], freq="M"),
                          "approved_on": e["approved_on"].astype("datetime64[s]").to_numpy()})
        m = p[["person_id", "subsidy", "period", "paid_on"]].reset_index().merge(
            e, on=["person_id", "subsidy"], how="inner")
        if len(m):
            am = m["approved_on"].dt.to_period("M") + 1   # the first payroll after the approval
            dl = ctx.policy.deadline(am)
            from_start = known(m["period"] >= m["start_month"]) | ~is_known(m["start_month"])
            ok = from_start & known(m["period"] <= am) & known(m["paid_on"] <= dl.to_numpy())
            has_approval.loc[m["index"].unique()] = True
            approved.loc[m.loc[ok, "index"].unique()] = True
    return (approved | (fallback & ~has_approval)).fillna(False)


@rule("LATE_PAYMENT", clause="3.1.2", title_zh="未按时发放", title_en="Paid late", severity="medium",
      tables=("payouts",), optional_tables=("entitlements",),
      description_zh="所属月份的首次成功发放晚于政策规定的发放期限（默认次月末）。",
      must_not_flag_zh="新批准后按政策补发自申请以来各月；按时发放后的补足款。")
def late_payment(ctx: RuleContext) -> pd.DataFrame:
    """A month whose successful payments were all made after the policy deadline.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = the amount paid late (fen),
        ``months`` = months paid late.

    Notes
    -----
    Clause 3.1.2 (未按时发放); deadline and back-pay from policy ``payment``. A month
    with at least one payment by the deadline is on time (later top-ups are 补发).
    """
    p = period_rows(ctx)
    p = p[p["ok"].to_numpy(bool) & p["listed"].to_numpy(bool) & p["person_id"].notna().to_numpy(bool)]
    if p.empty:
        return empty_findings()
    dl = ctx.policy.deadline(p["period"])
    late = (p["paid_on"] > dl).fillna(False)
    p = p[(late & ~_allowed_backpay(ctx, p)).to_numpy(bool)]
    if p.empty:
        return empty_findings()
    lk = p[KEY].drop_duplicates().assign(_late=True)
    rec = ctx.recon.merge(lk, on=KEY, how="left")
    mask = rec["_late"].fillna(False).astype(bool) & (rec["ontime_n"] == 0) & ~rec["stopped"]
    rec_last = p.groupby(KEY)["paid_on"].max().rename("last_paid").reset_index()
    ctx_rec = rec.merge(rec_last, on=KEY, how="left")
    dl_all = ctx.policy.deadline(ctx_rec["period"])
    days = (ctx_rec["last_paid"] - dl_all).dt.days
    ctx_rec = ctx_rec.assign(days_late=days, deadline=dl_all.to_numpy())
    basis = deadline_basis(ctx.policy)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}晚于发放期限发放"
                f"（最迟超期{int(r.days):d}天：所属期{ym(r.worst_period)}的发放期限为"
                f"{r.worst_deadline:%Y-%m-%d}，实际{r.worst_paid:%Y-%m-%d}发放；{basis}），"
                f"涉及金额{yuan_text(r.amount_fen)}")
    months = ctx_rec[mask.to_numpy(bool)]
    if months.empty:
        return empty_findings()
    # the latest month first, so "first" per subject is the one with the largest delay
    months = months.sort_values(["days_late", "period"], ascending=[False, True], kind="stable")
    out = per_subject(months.assign(amount_fen=months["paid_fen"].astype("int64")),
                      extra={"days": ("days_late", "max"), "worst_period": ("period", "first"),
                             "worst_deadline": ("deadline", "first"), "worst_paid": ("last_paid", "first")})
    c = citations(months.rename(columns={"person_id": "subject_id"}).assign(
                      amount_fen=months["paid_fen"].astype("int64").to_numpy()),
                  p.rename(columns={"person_id": "subject_id"}),
                  on=["subject_id", "subsidy", "period"], group=["subject_id", "subsidy"])
    out = out.merge(c, on=["subject_id", "subsidy"], how="left")
    ev = pd.Series([say(r) + (r.cite if isinstance(r.cite, str) else "") for r in out.itertuples(index=False)],
                   index=out.index)
    return finish(out, "person", ev)


@rule("MISSED_MONTH", clause="3.1.2", title_zh="应发未发月份", title_en="Entitled month not paid",
      severity="medium", tables=("payouts",), optional_tables=("entitlements", "roster", "dibao"),
      description_zh="有享受资格的月份（审批台账，或无台账时按花名册和政策推定且已开始发放）没有任何发放记录。",
      must_not_flag_zh="审查期外的月份；停发事件之后的月份；发放失败的月份（属失败未处理）。")
def missed_month(ctx: RuleContext) -> pd.DataFrame:
    """Entitled months with no payout row at all (none attempted, none made).

    Entitlement comes from the entitlements table; without one, from roster +
    policy, and then only from the first month anything was paid or attempted
    for the person and item (earlier months are 应享未享, ``ELIGIBLE_NOT_ENROLLED``).

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = the standard for the missed months
        (fen; 0 where the tier is unknown).

    Notes
    -----
    Clause 3.1.2 (应发未发).
    """
    rec = ctx.recon
    # no payout row at all, or only reversals netting the month to zero or below (冲正)
    reversed_away = (rec["live_n"] == 0) & (rec["net_paid_fen"] <= 0)
    mask = rec["entitled"] & ~rec["stopped"] & ((rec["attempted_n"] == 0) | reversed_away)
    if not ctx.has("entitlements"):
        o = rec["period"].array.asi8
        first = pd.Series(np.where(rec["attempted_n"] > 0, o, np.iinfo("int64").max), index=rec.index)
        first_att = first.groupby(rec["_ps"].to_numpy()).transform("min").to_numpy()
        mask &= o > first_att

    # a payout row of the person quarantined as id_precision_lost (Excel kept 15 digits)
    # may be that month's payment: such people are not accused, they are listed as
    # not clearable (missing data never accuses; REAL_WORLD_CASES B01)
    from .eligibility import _damaged_roster_matches
    damaged = _damaged_roster_matches(ctx, "payouts")
    if damaged:
        id15 = rec["person_id"].astype("string").str[:15].fillna("")
        name = rec["name"].astype("string")
        # first 15 digits and the name; a month whose name is unknown (no payout row of its
        # own) is matched on the digits alone: doubt only ever removes an accusation
        hit = ((id15 + "|" + name.fillna("")).isin({f"{i}|{n}" for i, n in damaged})
               | (name.isna() & id15.isin({i for i, _ in damaged}))).to_numpy(bool)
        unclear = mask.to_numpy(bool) & hit
        if unclear.any():
            ctx.cannot_clear("MISSED_MONTH", pd.DataFrame({
                "subject_id": rec.loc[unclear, "person_id"].astype("string").unique()}),
                "payouts.person_id", "发放明细中有该人身份证号被Excel存为数字（末位丢失）而隔离的行，"
                "无法确认相应月份是否已发放；请调取原始导出核实。")
            mask = mask & ~pd.Series(hit, index=rec.index)

    def say(r):
        what = "发放后被冲正、净发放为零或负数" if r.rev else "没有任何发放记录"
        return (f"{span_text(r.period_start, r.period_end, r.months)}有{r.subsidy}享受资格，"
                f"但{what}，按标准应发{yuan_text(r.amount_fen)}")
    rows = ctx.tables.get("entitlements")
    if rows is not None:
        from ..recon.prepare import expand_months, fold_subsidy
        rows = rows.assign(subsidy=fold_subsidy(rows["subsidy"], ctx.policy)[0])
        keep = [c for c in ("person_id", "subsidy", "_file", "_sheet", "_row") if c in rows]
        rows = expand_months(rows, "start_month", "end_month", *ctx.period, keep=keep)
    return recon_findings(ctx, mask, rec["standard_fen"].fillna(0), say,
                          rows=rows if rows is not None else ctx.payouts.iloc[:0], table="entitlements",
                          extra={"rev": ("reversal_n", "sum")})


def _longest_run(months: pd.DataFrame) -> pd.Series:
    """Longest run of consecutive months per (person_id, subsidy)."""
    m = months.sort_values(KEY)
    o = m["period"].array.asi8
    grp = (m["person_id"] + "|" + m["subsidy"]).to_numpy()
    new = np.ones(len(m), dtype=bool)
    new[1:] = (grp[1:] != grp[:-1]) | (o[1:] != o[:-1] + 1)
    run_id = np.cumsum(new)
    size = pd.Series(run_id).map(pd.Series(run_id).value_counts()).to_numpy()
    return pd.Series(size, index=m.index).groupby([m["person_id"], m["subsidy"]]).max()


@rule("ELIGIBLE_NOT_ENROLLED", clause="3.1.2", title_zh="应享未享",
      title_en="Eligible but not enrolled", severity="medium", tables=("payouts", "roster"),
      optional_tables=("dibao", "entitlements", "other_benefits"), params={"months": 3},
      description_zh="花名册人员连续N个月符合某项补贴条件，但没有该项补贴的享受记录，也没有任何发放。",
      must_not_flag_zh="有停发事件（死亡、迁出、证件注销、羁押）的人；领取政策规定互斥待遇的人。",
      message="连续{months}个月符合条件")
def eligible_not_enrolled(ctx: RuleContext) -> pd.DataFrame:
    """Roster people meeting an item's conditions for N consecutive months with no
    entitlement and no payment for it.

    Returns
    -------
    DataFrame
        Standard findings; ``months`` = eligible months, ``amount_fen`` = the
        standard over them (fen; what should have been paid).

    Notes
    -----
    Clause 3.1.2 (应享未享); conditions from policy ``eligibility``; N from
    ``parameters/rules.yaml`` (``ELIGIBLE_NOT_ENROLLED.months``).
    """
    n = int(ctx.param("ELIGIBLE_NOT_ENROLLED", "months"))
    rec = ctx.recon
    key = rec["_ps"].to_numpy()
    touched = (rec["attempted_n"] > 0) | (rec["entitled"] & ctx.has("entitlements"))
    any_touch = touched.groupby(key).transform("any")
    hi = ctx.period[1]
    person_stop = rec["stopped"] | rec["custody"]
    for col in ("death_month", "move_month", "cert_end_month"):  # events up to the end of the period
        person_stop |= (rec[col] <= hi).fillna(False)
    stop_any = person_stop.groupby(rec["person_id"]).transform("any")
    excl_any = rec["exclusive_program"].notna().groupby(key).transform("any")
    cand = (rec["eligible"] & ~any_touch & ~stop_any & ~excl_any).to_numpy(bool).copy()
    if cand.any():  # any payout row at all for the item (also outside the period) rules it out
        anyp = ctx.payouts
        anyp = anyp[anyp["person_id"].isin(rec.loc[cand, "person_id"].unique())]
        paid_keys = set((anyp["person_id"].astype("string") + "|" + anyp["subsidy"].astype("string")).dropna())
        sub = rec[cand]
        cand[cand] = ~(sub["person_id"] + "|" + sub["subsidy"]).isin(paid_keys).to_numpy(bool)
    months = rec[cand]
    if months.empty:
        return empty_findings()
    run = _longest_run(months)
    ok = run[run >= n].index
    sel = pd.MultiIndex.from_frame(months[["person_id", "subsidy"]]).isin(ok)
    mask = pd.Series(False, index=rec.index)
    mask.loc[months.index[sel]] = True

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}符合{r.subsidy}条件（判定标准：{crit}），"
                f"但无享受记录且无任何发放，按标准应享{yuan_text(r.amount_fen)}")
    crit = ctx.message("ELIGIBLE_NOT_ENROLLED")
    roster = ctx.tables["roster"]
    rows = roster.assign(subsidy=pd.NA).iloc[:0]
    res = recon_findings(ctx, mask, rec["standard_fen"].fillna(0), say, rows=rows)
    if len(res):
        r1 = roster.drop_duplicates("person_id").set_index("person_id")
        cite = res["subject_id"].map(
            lambda pid: f"（来源：{r1.at[pid, '_file']}"
                        f"{'/' + str(r1.at[pid, '_sheet']) if isinstance(r1.at[pid, '_sheet'], str) and r1.at[pid, '_sheet'] else ''}"
                        f" 第{r1.at[pid, '_row']}行）" if pid in r1.index else "")
        res["evidence"] = res["evidence"] + cite
    return res

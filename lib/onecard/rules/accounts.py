"""Clauses 3.1.4 and 3.2: accounts, cards, agent banks and fees.

Masked account numbers (``6217********1234``, flagged ``masked`` by intake) are
never findings here: they are not checkable and are counted in the data-quality
section instead.

Notes
-----
``FOCUS_PROBLEMS.md`` 3.1.4 (not paid through the One Card), 3.2.1 (一人多卡),
3.2.2 (agent banks), 3.2.3 (fees).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .catalogue import rule
from .context import RuleContext
from .kit import citations, empty_findings, finish, known, paid_rows, per_subject, span_text, yuan_text


_OPEN_END = pd.Timestamp("2200-01-01")  # a registered card never closed stays in use


_CLOSED = r"销户|注销|closed|cancel"


def _overlapping(span: pd.DataFrame, end: str) -> np.ndarray:
    """People two of whose account spans (``s`` .. ``end``) overlap. Vectorised."""
    sp = span.sort_values(["person_id", "s", end], kind="stable")
    prev_end = sp.groupby("person_id")[end].cummax().groupby(sp["person_id"]).shift()
    return sp.loc[known(sp["s"] <= prev_end), "person_id"].unique()


def _masked(s: pd.Series, flags: pd.Series | None = None) -> pd.Series:
    m = s.astype("string").str.contains(r"[*＊xX]", regex=True).fillna(False)
    if flags is not None:
        m |= flags.astype("string").str.contains("masked", regex=False).fillna(False)
    return m.astype(bool)


def _with_cites(out, months, rows, subject_col, group_sub=False):
    on = [subject_col, "period"] + (["subsidy"] if group_sub else [])
    keys = months.rename(columns={subject_col: "subject_id"})
    src = rows.rename(columns={subject_col: "subject_id"})
    on = ["subject_id" if c == subject_col else c for c in on]
    group = ["subject_id"] + (["subsidy"] if group_sub else [])
    c = citations(keys, src, on=on, group=group)
    return out.merge(c, on=group, how="left")


def _evidence(out, say):
    return pd.Series([say(r) + (r.cite if isinstance(r.cite, str) else "")
                      for r in out.itertuples(index=False)], index=out.index)


def _join_ids(s: pd.Series) -> str:
    return ";".join(sorted(set(s.dropna().astype(str))))


@rule("MULTIPLE_ACCOUNTS", clause="3.2.1", title_zh="一人多卡", title_en="One person, several accounts",
      severity="medium", tables=("payouts",), optional_tables=("cards",),
      description_zh="审查期内同一人同时使用（收款或登记）两个及以上账户。",
      must_not_flag_zh="旧卡销户后换新卡（换卡后未再向两个账户同时发放）；脱敏账号。")
def multiple_accounts(ctx: RuleContext) -> pd.DataFrame:
    """One person paid into, or registered with, two or more accounts at the same time.

    Each account's span of use is from its first payment (or opening) to its
    last payment (or closing; a registered card never closed stays open). Two
    accounts whose spans overlap are "several accounts"; a replaced card whose
    span ends before the new one starts is not.

    Returns
    -------
    DataFrame
        Standard findings, ``subject_type`` person, ``subsidy`` blank,
        ``related_ids`` the accounts (``;``), ``amount_fen`` 0, ``months`` the
        months paid in the review period.

    Notes
    -----
    Clause 3.2.1 (一人多卡).
    """
    lo, hi = ctx.period
    p = paid_rows(ctx, listed_only=False)
    p = p[p["account_no"].notna() & ~_masked(p["account_no"], p.get("_flags"))]
    when = p["paid_on"].astype("datetime64[s]").fillna(p["period"].dt.to_timestamp().astype("datetime64[s]"))
    use = pd.DataFrame({"person_id": p["person_id"].astype("string").to_numpy(),
                        "account_no": p["account_no"].astype("string").to_numpy(), "w": when.to_numpy()})
    span = use.groupby(["person_id", "account_no"], sort=True).agg(fp=("w", "min"), lp=("w", "max")).reset_index()
    if ctx.has("cards"):
        c = ctx.tables["cards"]
        c = c[c["holder_id"].notna() & c["account_no"].notna() & ~_masked(c["account_no"], c.get("_flags"))]
        start, end = lo.to_timestamp(), (hi + 1).to_timestamp()
        nat = pd.Series(pd.NaT, index=c.index, dtype="datetime64[s]")
        op = c["opened_on"].astype("datetime64[s]") if "opened_on" in c else nat
        cl = c["closed_on"].astype("datetime64[s]") if "closed_on" in c else nat
        active = known((op.isna() | (op < end)) & (cl.isna() | (cl >= start)))
        status = c["card_status"].astype("string") if "card_status" in c else pd.Series(pd.NA, index=c.index)
        closed = known(status.str.contains(_CLOSED, regex=True))  # 销户/注销, even without a closing date
        reg = pd.DataFrame({"person_id": c["holder_id"].astype("string").to_numpy()[active],
                            "account_no": c["account_no"].astype("string").to_numpy()[active],
                            "op": op.to_numpy()[active], "cl": cl.to_numpy()[active], "reg": True,
                            "closed": closed[active]})
        reg = reg.groupby(["person_id", "account_no"], sort=True).agg(
            op=("op", "min"), cl=("cl", "max"), reg=("reg", "any"), closed=("closed", "any")).reset_index()
        span = span.merge(reg, on=["person_id", "account_no"], how="outer")
    else:
        span = span.assign(op=pd.NaT, cl=pd.NaT, reg=False, closed=False)
    if span.empty:
        return empty_findings()
    span["reg"] = span["reg"].fillna(False).astype(bool)
    span["closed"] = span["closed"].fillna(False).astype(bool) | span["cl"].notna().to_numpy(bool)
    # in use from the first payment (else the opening) to the last payment; a registered
    # card never closed stays in use; a closed card (closing date, or status 销户/注销)
    # ends with its last payment (else its closing, else it was not in use)
    span["s"] = span["fp"].fillna(span["op"]).fillna(pd.Timestamp(lo.to_timestamp()))
    closed_end = span["lp"].fillna(span["cl"]).fillna(span["s"])
    span["e"] = closed_end.where(span["closed"] | ~span["reg"], _OPEN_END)
    span = span[span.groupby("person_id")["account_no"].transform("size") >= 2]
    if span.empty:
        return empty_findings()
    # A registered card with neither closing date nor status stays "in use". When the
    # registry supplies neither column, a switch to a newer card cannot be told from
    # a replacement: those people go to the 未能排除合法情形 list, and only people
    # paid into two accounts at the same time (even with every card ending at its
    # last payment) are findings (issue 9: missing data never accuses).
    people = _overlapping(span, "e")
    if ctx.has("cards") and not (ctx.supplied("cards", "closed_on") or ctx.supplied("cards", "card_status")):
        optimistic = span.assign(e=closed_end)
        sure = _overlapping(optimistic, "e")
        unclear = np.setdiff1d(people, sure)
        if len(unclear):
            ctx.cannot_clear("MULTIPLE_ACCOUNTS", pd.DataFrame({"subject_id": unclear}), "cards.card_status",
                             "一卡通账户库未提供卡状态和销户日期，无法排除旧卡销户后换新卡的合法情形。")
        people = sure
    if len(people) == 0:
        return empty_findings()
    accts = span[span["person_id"].isin(people)].groupby("person_id")["account_no"].agg(_join_ids)
    rows = p[p["person_id"].isin(people)]
    months = rows[["person_id", "period", "name", "township", "village"]].assign(amount_fen=0)
    if months.empty:  # registered only
        r = ctx.tables.get("roster")
        months = pd.DataFrame({"person_id": people, "period": pd.PeriodIndex([hi] * len(people)),
                               "amount_fen": 0})
        if r is not None:
            months = months.merge(r.drop_duplicates("person_id")[["person_id", "name", "township", "village"]],
                                  on="person_id", how="left")
    missing = np.setdiff1d(people, months["person_id"].unique())
    if len(missing):
        months = pd.concat([months, pd.DataFrame({"person_id": missing,
                                                  "period": pd.PeriodIndex([hi] * len(missing)),
                                                  "amount_fen": 0})], ignore_index=True)
    out = per_subject(months, subsidy=False)
    out["related_ids"] = out["subject_id"].map(accts)
    out = _with_cites(out, months, rows, "person_id")

    def say(r):
        n = len(str(r.related_ids).split(";"))
        return f"审查期内同一人同时使用{n}个账户（{str(r.related_ids).replace(';', '、')}）收款或登记"
    return finish(out, "person", _evidence(out, say))


@rule("ACCOUNT_NOT_REGISTERED", clause="3.1.4", title_zh="收款账户不在一卡通账户库",
      title_en="Account not in the card registry", severity="medium", tables=("payouts", "cards"),
      description_zh="成功发放进入一卡通账户登记表中没有的账户。",
      must_not_flag_zh="脱敏账号（不可核对，计入数据质量部分）。")
def account_not_registered(ctx: RuleContext) -> pd.DataFrame:
    """Payments into an account absent from the card registry.

    Returns
    -------
    DataFrame
        ``subject_type`` account, ``subject_id`` the account number, ``subsidy``
        blank, ``related_ids`` the beneficiaries paid, ``amount_fen`` all paid
        into the account (fen).

    Notes
    -----
    Clause 3.1.4 (未通过一卡通发放 / 二次分配).
    """
    p = paid_rows(ctx, listed_only=False)
    p = p[p["account_no"].notna() & ~_masked(p["account_no"], p.get("_flags"))]
    known = set(ctx.tables["cards"]["account_no"].dropna().astype(str))
    p = p[~p["account_no"].astype(str).isin(known)]
    if p.empty:
        return empty_findings()
    months = p[["account_no", "period", "township", "village", "person_id"]].assign(
        amount_fen=p["amount"].fillna(0).astype("int64"))
    out = per_subject(months, subject="account_no", subsidy=False, first=("township", "village"),
                      extra={"related_ids": ("person_id", _join_ids)})
    out = _with_cites(out, months, p, "account_no")

    def say(r):
        return (f"账户{r.subject_id}不在一卡通账户登记表中，{span_text(r.period_start, r.period_end, r.months)}"
                f"收到补贴合计{yuan_text(r.amount_fen)}")
    return finish(out, "account", _evidence(out, say))


def _approved(p: pd.DataFrame, banks: pd.DataFrame) -> pd.Series:
    """Bool per payout row: its bank (or a branch of it) was approved on the payment date."""
    when = p["paid_on"].astype("datetime64[s]").fillna(p["period"].dt.to_timestamp().astype("datetime64[s]"))
    ok = pd.Series(False, index=p.index)
    bank = p["bank"].astype("string").fillna("")
    for b in banks.itertuples(index=False):  # the approved list is short (a handful of banks)
        name = str(b.bank)
        hit = bank.str.startswith(name)
        f = getattr(b, "approved_from", pd.NaT)
        t = getattr(b, "approved_to", pd.NaT)
        if pd.notna(f):
            hit &= when >= pd.Timestamp(f)
        if pd.notna(t):
            hit &= when <= pd.Timestamp(t)
        ok |= hit.fillna(False)
    return ok


@rule("BANK_NOT_APPROVED", clause="3.2.2", title_zh="代理银行未经准入", title_en="Bank not approved",
      severity="medium", tables=("payouts", "banks"),
      description_zh="通过不在代理银行准入名单（按发放日期）上的银行发放。",
      must_not_flag_zh="准入银行的分支机构（支行、营业所）。")
def bank_not_approved(ctx: RuleContext) -> pd.DataFrame:
    """Payments through a bank not on the approved agent-bank list at that date.

    Returns
    -------
    DataFrame
        ``subject_type`` account (``subject_id`` the account, else the bank
        name), ``amount_fen`` all paid that way (fen), ``related_ids`` the bank.

    Notes
    -----
    Clause 3.2.2. Bank names are canonical after intake; a branch name that starts
    with an approved bank's name counts as that bank.
    """
    p = paid_rows(ctx, listed_only=False)
    p = p[p["bank"].notna()]
    p = p[~_approved(p, ctx.tables["banks"]).to_numpy(bool)]
    if p.empty:
        return empty_findings()
    subj = p["account_no"].astype("string").fillna(p["bank"].astype("string"))
    p = p.assign(subject=subj)
    months = p[["subject", "period", "township", "village", "bank"]].assign(
        amount_fen=p["amount"].fillna(0).astype("int64"))
    out = per_subject(months, subject="subject", subsidy=False, first=("township", "village"),
                      extra={"related_ids": ("bank", _join_ids)})
    out = _with_cites(out, months, p, "subject")

    def say(r):
        return (f"账户{r.subject_id}经{r.related_ids}发放，该行不在发放时的代理银行准入名单上，"
                f"{span_text(r.period_start, r.period_end, r.months)}合计{yuan_text(r.amount_fen)}")
    return finish(out, "account", _evidence(out, say))


@rule("FEE_DEDUCTED", clause="3.2.3", title_zh="扣收费用", title_en="Fee deducted", severity="high",
      tables=("payouts",),
      description_zh="实发金额低于应发金额，或有手续费记录。", must_not_flag_zh="")
def fee_deducted(ctx: RuleContext) -> pd.DataFrame:
    """Payments whose net amount is below the gross amount, or with a fee.

    Returns
    -------
    DataFrame
        Per person x subsidy; ``amount_fen`` = the money deducted (gross minus
        net, or the fee where larger), fen.

    Notes
    -----
    Clause 3.2.3 (收取费用、增加群众负担).
    """
    p = paid_rows(ctx)
    ded = pd.Series(0, index=p.index, dtype="int64")
    if "net_amount" in p:
        ded = (p["amount"] - p["net_amount"]).fillna(0).astype("int64").clip(lower=0)
    if "fee" in p:
        ded = np.maximum(ded, p["fee"].fillna(0).astype("int64").clip(lower=0))
    ded = pd.Series(ded, index=p.index)
    p = p[(ded > 0).to_numpy(bool)].assign(amount_fen=ded[ded > 0])
    if p.empty:
        return empty_findings()
    months = p[["person_id", "subsidy", "period", "name", "township", "village", "amount_fen"]]
    out = per_subject(months)
    out = _with_cites(out, months, p, "person_id", group_sub=True)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}发放时被扣减"
                f"合计{yuan_text(r.amount_fen)}（实发低于应发或有手续费）")
    return finish(out, "person", _evidence(out, say))

"""Clause 3.1.3 应退未退: payments that should have stopped (death, move, certificate end, custody).

Each rule reads the reconciliation table (``ctx.recon``): months with successful
pay after the stop event. ``amount_fen`` is everything paid for those months
(nothing was due). The month of the event itself is payable. When one person
has several stop events, each month is charged to one of them only (death
first, then move-out, then certificate end, then custody), so money is never
counted twice.

Notes
-----
``FOCUS_PROBLEMS.md`` clause 3.1.3; stop events as listed in the policy file's
``stop_events`` (``parameters/policy/hubei.yaml``).
"""

from __future__ import annotations

import pandas as pd

from .catalogue import rule
from .context import RuleContext
from .kit import citations, known, empty_findings, finish, paid_rows, per_subject, span_text, yuan_text

KEY = ["person_id", "subsidy", "period"]


def recon_findings(ctx: RuleContext, mask: pd.Series, amount: pd.Series, sentence,
                   extra: dict | None = None, rows: pd.DataFrame | None = None,
                   table: str = "payouts") -> pd.DataFrame:
    """Findings from flagged recon months: merge per person x subsidy, cite payout rows.

    ``sentence(row) -> str`` words one finding (without the citation). ``mask`` may
    be nullable: NA (unknown) never flags (:func:`onecard.rules.kit.known`). The
    cited rows (``rows``, default the paid rows; of canonical ``table``) are the
    findings' source rows, each month's ``amount`` split over that month's rows.
    """
    rec = ctx.recon
    flag = known(mask)
    months = rec[flag].assign(amount_fen=amount[flag].to_numpy())
    if months.empty:
        return empty_findings()
    out = per_subject(months, extra=extra)
    src = paid_rows(ctx) if rows is None else rows
    cites = citations(months.rename(columns={"person_id": "subject_id"}),
                      src.rename(columns={"person_id": "subject_id"}),
                      on=["subject_id", "subsidy", "period"], group=["subject_id", "subsidy"],
                      table=table)
    out = out.merge(cites, on=["subject_id", "subsidy"], how="left")
    evidence = pd.Series([sentence(r) + (r.cite if isinstance(r.cite, str) else "")
                          for r in out.itertuples(index=False)], index=out.index)
    return finish(out, "person", evidence)


def _paid(rec) -> pd.Series:
    return (rec["paid_fen"].fillna(0) != 0) & (rec["paid_n"] > 0)


@rule("PAID_AFTER_DEATH", clause="3.1.3", title_zh="死亡后仍发放", title_en="Paid after death",
      severity="high", tables=("payouts", "deaths"),
      description_zh="死亡月份之后的所属期仍有成功发放。",
      must_not_flag_zh="死亡当月的发放。")
def paid_after_death(ctx: RuleContext) -> pd.DataFrame:
    """Payments *for* months after the month of death.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = all paid for those months (fen),
        ``months`` = number of months paid after death.

    Notes
    -----
    Clause 3.1.3 (应退未退); stop event ``death`` of the policy file.
    Death-list rows without an ID are matched by name when ``onecard.intake.names`` exists.
    """
    rec = ctx.recon
    mask = _paid(rec) & (rec["period"] > rec["death_month"]).fillna(False)

    def say(r):
        return (f"死亡日期{r.died_on:%Y-%m-%d}，之后仍发放{span_text(r.period_start, r.period_end, r.months)}"
                f"{r.subsidy}，合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say, extra={"died_on": ("died_on", "first")})


@rule("PAID_AFTER_MOVE", clause="3.1.3", title_zh="户籍迁出后仍发放",
      title_en="Paid after moving out of the district", severity="high", tables=("payouts", "moves"),
      description_zh="户籍迁出本区的月份之后仍有成功发放。", must_not_flag_zh="区内迁移；迁出当月。")
def paid_after_move(ctx: RuleContext) -> pd.DataFrame:
    """Payments for months after household registration moved out of the district.

    Returns the standard findings; ``amount_fen`` = all paid for those months.

    Notes
    -----
    Clause 3.1.3. A move whose destination names the district or one of its
    townships is a move within the district and never stops payment.
    """
    rec = ctx.recon
    mask = _paid(rec) & (rec["stop_event"] == "迁出").fillna(False)

    def say(r):
        return (f"户籍于{r.moved_on:%Y-%m-%d}迁出本区，之后仍发放"
                f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}，合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say, extra={"moved_on": ("moved_on", "first")})


@rule("PAID_AFTER_CERT_END", clause="3.1.3", title_zh="残疾人证注销或过期后仍发放",
      title_en="Paid after certificate cancellation or expiry", severity="high",
      tables=("payouts", "roster"),
      description_zh="残疾人证注销或有效期届满之后的所属期仍有成功发放。",
      must_not_flag_zh="换发新证覆盖的月份；注销当月。")
def paid_after_cert_end(ctx: RuleContext) -> pd.DataFrame:
    """Payments for months after every certificate of the person ended.

    Returns the standard findings; ``amount_fen`` = all paid for those months.

    Notes
    -----
    Clause 3.1.3. Months after death or move-out are left to those rules.
    """
    rec = ctx.recon
    mask = _paid(rec) & (rec["stop_event"] == "证件注销或过期").fillna(False)

    def say(r):
        return (f"残疾人证于{r.cert_end_on:%Y-%m-%d}注销或到期且无新证，之后仍发放"
                f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}，合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say,
                          extra={"cert_end_on": ("cert_end_on", "first")})


@rule("PAID_IN_CUSTODY", clause="3.1.3", title_zh="服刑羁押期间仍发放",
      title_en="Paid during custody", severity="high", tables=("payouts", "custody"),
      description_zh="政策规定羁押期间停发时，整月处于羁押期间的所属期仍有成功发放。",
      must_not_flag_zh="不足一整月的羁押。")
def paid_in_custody(ctx: RuleContext) -> pd.DataFrame:
    """Payments for months wholly inside a custody span (when the policy stops them).

    Returns the standard findings; ``amount_fen`` = all paid for those months.

    Notes
    -----
    Clause 3.1.3; policy ``stop_events.custody``.
    """
    rec = ctx.recon
    mask = _paid(rec) & (rec["stop_event"] == "羁押").fillna(False)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}整月处于服刑或羁押期间，"
                f"仍发放{r.subsidy}合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say)

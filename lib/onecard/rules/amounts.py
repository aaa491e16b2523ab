"""Clauses 3.1.1-3.1.3: amounts against the standard (split, short, over, duplicate).

All four read the reconciliation table (``ctx.recon``): per person x subsidy x
month, ``paid_fen`` (every successful payment for the month, back-pay made later
included), ``paid_n`` (successful rows), ``max_part_fen`` and the policy
``standard_fen`` for the person's tier and month. They are disjoint:

=====================  =======================================================
rule                   month condition
=====================  =======================================================
``SPLIT_PAYMENT``      >= 2 parts, each below the standard, sum == standard,
                       at least two parts paid by the deadline
``SHORT_PAYMENT``      0 < sum < standard
``OVER_STANDARD``      one payment, above the standard
``DUPLICATE_PAYMENT``  >= 2 payments, sum above the standard
=====================  =======================================================

Months after a stop event are left to the ``PAID_AFTER_*`` rules; months without
a standard (tier unknown, no standard in force) are not checkable here.

Notes
-----
Standards by effective month and tier come from the policy file
(``parameters/policy/hubei.yaml``: 鄂政办发〔2015〕96号 and the 2021 notice).
"""

from __future__ import annotations

import pandas as pd

from .catalogue import rule
from .context import RuleContext
from .kit import money_range, span_text, standard_basis, yuan_text
from .stops import recon_findings


#: per-subject aggregates the paid-vs-standard wording needs
_STD_EXTRA = {"std": ("standard_fen", "sum"), "paid": ("paid_fen", "sum"),
              "std_lo": ("standard_fen", "min"), "std_hi": ("standard_fen", "max"),
              "paid_lo": ("paid_fen", "min"), "paid_hi": ("paid_fen", "max")}


def _per_month(ctx: RuleContext, r) -> str:
    """``（每月实发120.00元，标准70.00元；标准依据：鄂政办发…（2021-01起））``: the values
    compared per month and the policy basis of the standard (issue 12 item 3)."""
    basis = standard_basis(ctx.policy, r.subsidy, r.period_start, r.period_end)
    return (f"（每月实发{money_range(r.paid_lo, r.paid_hi)}，标准{money_range(r.std_lo, r.std_hi)}"
            + (f"；{basis}" if basis else "") + "）")


def _base(rec) -> pd.Series:
    return (rec["standard_fen"].notna() & ~rec["stopped"] & (rec["paid_n"] > 0)).fillna(False)


@rule("OVER_STANDARD", clause="3.1.3", title_zh="超标准发放", title_en="Paid above the standard",
      severity="high", tables=("payouts",), optional_tables=("roster",),
      description_zh="某月一次性成功发放的金额高于该人该月适用的补贴标准（错用标准）。",
      must_not_flag_zh="年度中途提标（按政策表的生效月份判断）；同一月份重复发放（属重复发放）。")
def over_standard(ctx: RuleContext) -> pd.DataFrame:
    """A month paid in one successful payment above the standard.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = paid minus standard, summed over
        the months (fen).

    Notes
    -----
    Clause 3.1.3 (超标准); the standard for the month and tier comes from the policy.
    """
    rec = ctx.recon
    mask = _base(rec) & (rec["paid_n"] == 1) & (rec["paid_fen"] > rec["standard_fen"]).fillna(False)
    excess = rec["paid_fen"] - rec["standard_fen"]

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}按标准应发"
                f"{yuan_text(r.std)}，实发{yuan_text(r.paid)}，超标准多发{yuan_text(r.amount_fen)}"
                + _per_month(ctx, r))
    return recon_findings(ctx, mask, excess, say, extra=_STD_EXTRA)


@rule("DUPLICATE_PAYMENT", clause="3.1.3", title_zh="重复发放", title_en="Paid twice for one month",
      severity="high", tables=("payouts",), optional_tables=("roster",),
      description_zh="同一人、同一补贴、同一所属月份成功发放两次及以上且合计高于标准（含跨街道）。",
      must_not_flag_zh="发放失败或退回后重新成功发放。")
def duplicate_payment(ctx: RuleContext) -> pd.DataFrame:
    """The same person, subsidy and month paid successfully two or more times above the standard.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = total paid minus the standard (fen).

    Notes
    -----
    Clause 3.1.3 (重复享受). Failed/returned rows are not successful payments, so a
    re-payment after a failure is one payment.
    """
    rec = ctx.recon
    mask = _base(rec) & (rec["paid_n"] >= 2) & (rec["paid_fen"] > rec["standard_fen"]).fillna(False)
    excess = rec["paid_fen"] - rec["standard_fen"]

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}同一月份成功发放"
                f"{r.n}笔，合计{yuan_text(r.paid)}，超出标准{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, excess, say, extra={"paid": ("paid_fen", "sum"),
                                                         "n": ("paid_n", "sum")})


@rule("SHORT_PAYMENT", clause="3.1.2", title_zh="少发（低于标准）", title_en="Paid below the standard",
      severity="medium", tables=("payouts",), optional_tables=("roster",),
      description_zh="某月成功发放合计大于零但低于标准（已计入其后补发）。",
      must_not_flag_zh="其后已补发补足的月份。")
def short_payment(ctx: RuleContext) -> pd.DataFrame:
    """Total successful pay for a month above zero but below the standard.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = the shortfall (standard minus paid), fen.

    Notes
    -----
    Clause 3.1.2 (少发). Back-pay made later for the month counts toward it.
    """
    rec = ctx.recon
    mask = _base(rec) & (rec["paid_fen"] > 0).fillna(False) & \
        (rec["paid_fen"] < rec["standard_fen"]).fillna(False)
    short = rec["standard_fen"] - rec["paid_fen"]

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}按标准应发"
                f"{yuan_text(r.std)}，实发{yuan_text(r.paid)}，少发{yuan_text(r.amount_fen)}"
                + _per_month(ctx, r))
    return recon_findings(ctx, mask, short, say, extra=_STD_EXTRA)


@rule("SPLIT_PAYMENT", clause="3.1.1", title_zh="拆分发放", title_en="One month split into small payments",
      severity="medium", tables=("payouts",), optional_tables=("roster",),
      description_zh="同一人、同一补贴、同一所属月份分两笔及以上按时发放，每笔低于标准、合计恰等于标准。",
      must_not_flag_zh="补发（以后发放的以前月份是该月份自己的发放）；合计不足标准的属少发。")
def split_payment(ctx: RuleContext) -> pd.DataFrame:
    """One month paid as two or more parts, each below the standard, summing to it.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = 0 (no money lost; the finding is the
        pattern), ``months`` = months split.

    Notes
    -----
    Clause 3.1.1 (大项拆小项). At least two parts must be paid by the deadline, so
    a short payment topped up later by back-pay is not a split.
    """
    rec = ctx.recon
    mask = _base(rec) & (rec["paid_n"] >= 2) & (rec["ontime_n"] >= 2) & \
        (rec["paid_fen"] == rec["standard_fen"]).fillna(False) & \
        (rec["max_part_fen"] < rec["standard_fen"]).fillna(False)
    zero = pd.Series(0, index=rec.index)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}每月拆成多笔发放"
                f"（共{r.n}笔，每笔均低于标准，合计{yuan_text(r.paid)}恰等于标准）")
    return recon_findings(ctx, mask, zero, say, extra={"paid": ("paid_fen", "sum"),
                                                       "n": ("paid_n", "sum")})

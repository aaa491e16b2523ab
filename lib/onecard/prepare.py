"""Prepare canonical tables for the rules: subsidy folding, statuses, reversals.

``prepare_payouts`` is the one place where payout rows are brought to the form
every rule reads (``RuleContext.payouts``):

- ``subsidy`` folded to the canonical item name via the policy aliases (raw text
  kept in ``subsidy_raw``; unknown names stay as given, ``listed`` False — those
  are ``UNLISTED_ITEM``);
- ``status`` defaulted to ``paid`` where missing; ``period`` taken from
  ``paid_month`` where no period is given;
- reversals (status ``reversed`` or a negative amount) netted against the
  payment they reverse: same person, subsidy, period, account and amount. Both
  rows get ``status='reversed'`` and count as no payment. A reversal with no
  matching payment stays as a negative ``paid`` amount (it still nets in sums).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .log import logger

__all__ = ["prepare_payouts", "fold_subsidy", "expand_months"]

_KEY = ["person_id", "subsidy", "period", "account_no"]


def fold_subsidy(values: pd.Series, policy) -> tuple[pd.Series, pd.Series]:
    """Canonical item names and a ``listed`` flag for raw item names.

    Returns ``(names, listed)``: names are canonical where the policy knows the
    name or an alias, else the stripped raw text.
    """
    canon = policy.canonical_subsidy(values)
    raw = values.astype("string").str.strip()
    return canon.fillna(raw), canon.notna()


def prepare_payouts(payouts: pd.DataFrame, policy) -> pd.DataFrame:
    """Payouts in the form the rules read. Does not modify ``payouts``.

    Parameters
    ----------
    payouts : DataFrame
        Canonical ``payouts`` table (``onecard.schema``), money in Int64 fen.
    policy : onecard.policy.Policy

    Returns
    -------
    DataFrame
        The input columns plus ``subsidy_raw`` (text as paid), ``listed``
        (bool: item in the policy list), ``ok`` (bool: a successful payment
        that counts, i.e. ``status == 'paid'``), ``amount`` as Int64 fen
        (reversed pairs keep their amounts but are ``ok=False``). ``period``
        is ``period[M]``. The index is reset; ``_row`` etc. are kept.
    """
    p = payouts.copy()
    n = len(p)
    if "period" not in p.columns:
        p["period"] = p["paid_month"] if "paid_month" in p.columns else pd.Series(
            pd.PeriodIndex([pd.NaT] * n, freq="M"))
    elif "paid_month" in p.columns:
        p["period"] = p["period"].fillna(p["paid_month"])
    for col, dtype in (("account_no", "string"), ("township", "string"), ("village", "string"),
                       ("name", "string"), ("bank", "string")):
        if col not in p.columns:
            p[col] = pd.Series(pd.NA, index=p.index, dtype=dtype)
    if "paid_on" not in p.columns:
        p["paid_on"] = pd.Series(pd.NaT, index=p.index, dtype="datetime64[s]")
    for c in ("_file", "_sheet", "_row", "_flags"):
        if c not in p.columns:
            p[c] = pd.NA
    status = p["status"].astype("string") if "status" in p.columns else pd.Series(
        pd.NA, index=p.index, dtype="string")
    p["status"] = status.fillna("paid")
    p["amount"] = p["amount"].astype("Int64")
    p["subsidy_raw"] = p["subsidy"].astype("string")
    p["subsidy"], p["listed"] = fold_subsidy(p["subsidy"], policy)
    p = p.reset_index(drop=True)
    _net_reversals(p)
    p["ok"] = (p["status"] == "paid").fillna(False).astype(bool)
    return p


def _net_reversals(p: pd.DataFrame) -> None:
    """Pair reversal rows with the payments they reverse (in place)."""
    rev = ((p["status"] == "reversed") | (p["amount"] < 0)).fillna(False).to_numpy(bool)
    if not rev.any():
        return
    p.loc[rev, "status"] = "reversed"
    absamt = p["amount"].abs()
    key = p[_KEY].astype("string").fillna("").agg("|".join, axis=1) + "|" + absamt.astype("string").fillna("")
    paid = (p["status"] == "paid").fillna(False).to_numpy(bool)
    # k-th reversal of a key cancels the k-th latest payment of that key
    cand = pd.DataFrame({"key": key, "i": np.arange(len(p))})
    order_paid = cand[paid].assign(t=p.loc[paid, "paid_on"]).sort_values(
        ["key", "t"], ascending=[True, False], na_position="last", kind="stable")
    order_paid["k"] = order_paid.groupby("key").cumcount()
    order_rev = cand[rev].copy()
    order_rev["k"] = order_rev.groupby("key").cumcount()
    pairs = order_rev.merge(order_paid[["key", "k", "i"]], on=["key", "k"], suffixes=("_r", "_p"))
    p.loc[pairs["i_p"].to_numpy(), "status"] = "reversed"
    unmatched = np.setdiff1d(order_rev["i"].to_numpy(), pairs["i_r"].to_numpy())
    if len(unmatched):
        # an unmatched reversal still nets: keep it as a negative successful amount
        p.loc[unmatched, "amount"] = -absamt.iloc[unmatched].to_numpy()
        p.loc[unmatched, "status"] = "paid"
        logger.info("%d reversal rows without a matching payment were netted as negative amounts",
                    len(unmatched))


def expand_months(frame: pd.DataFrame, start: str, end: str, lo: pd.Period, hi: pd.Period,
                  keep: list[str]) -> pd.DataFrame:
    """One row per month of each ``start``..``end`` range, clipped to ``lo``..``hi``.

    Missing ``start`` means from ``lo``; missing ``end`` means to ``hi``.
    Returns ``keep`` columns plus ``period`` (period[M]). Vectorised (``np.repeat``).
    """
    s = frame[start].array.asi8 if start in frame else np.full(len(frame), lo.ordinal)
    e = frame[end].array.asi8 if end in frame else np.full(len(frame), hi.ordinal)
    nat = np.iinfo("int64").min
    s = np.where(s == nat, lo.ordinal, np.maximum(s, lo.ordinal))
    e = np.where(e == nat, hi.ordinal, np.minimum(e, hi.ordinal))
    length = np.clip(e - s + 1, 0, None)
    idx = np.repeat(np.arange(len(frame)), length)
    offs = np.arange(length.sum()) - np.repeat(np.cumsum(length) - length, length)
    out = frame[keep].iloc[idx].reset_index(drop=True)
    out["period"] = pd.PeriodIndex.from_ordinals(s[idx] + offs, freq="M")
    return out

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

The second half holds the per-person inputs of the reconciliation: roster
attributes (``person_attributes``), stop-event months (``stop_months``,
``cert_end_months``, ``custody_months``), programme months (``program_months``)
and the name matching of ID-less reference rows (``with_matched_ids``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.log import logger
from ..core.reference import DISTRICT_NAME, township_aliases, townships

__all__ = ["prepare_payouts", "fold_subsidy", "expand_months", "with_matched_ids", "moved_out",
           "person_attributes", "stop_months", "cert_end_months", "custody_months", "program_months"]

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
        Canonical ``payouts`` table (``onecard.core.tables``), money in Int64 fen.
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


# -- per-person events and attributes (read by the reconciliation) ----------

def with_matched_ids(ref: pd.DataFrame, roster: pd.DataFrame | None) -> pd.DataFrame:
    """Reference-list rows with a ``person_id``: ID rows as given; ``no_id`` rows
    matched by name (``onecard.intake.names.match_by_name``) when available, else dropped."""
    has = ref["person_id"].notna() if "person_id" in ref else pd.Series(False, index=ref.index)
    if has.all() or roster is None:
        return ref[has]
    try:
        from ..intake.names import match_by_name
    except ImportError:
        return ref[has]
    matched = match_by_name(ref[~has], roster)
    matched = matched[matched["person_id"].notna()]
    return pd.concat([ref[has], matched[ref.columns.intersection(matched.columns)]],
                     ignore_index=True)


def moved_out(moves: pd.DataFrame) -> pd.Series:
    """Bool per move: out of the district (a destination naming the district or
    one of its townships is a move within the district; a blank one counts as out)."""
    if "destination" not in moves:
        return pd.Series(True, index=moves.index)
    names = set(townships()["name"]) | set(township_aliases()["alias"])
    names |= {n.removesuffix("街道") for n in names if n.endswith("街道")}
    names |= {DISTRICT_NAME, DISTRICT_NAME.removesuffix("区")}
    names = [n for n in names if len(n) >= 2]
    pattern = "|".join(sorted(map(_re_escape, names), key=len, reverse=True))
    dest = moves["destination"].astype("string")
    inside = dest.str.contains(pattern, regex=True).fillna(False)
    return ~inside.astype(bool)


def _re_escape(s: str) -> str:
    import re
    return re.escape(s)


def person_attributes(ctx) -> pd.DataFrame:
    """One roster row per person (active certificate first): ``person_id, name,
    township, village, grade, category, hukou_type``."""
    cols = ["person_id", "name", "township", "village", "grade", "category", "hukou_type"]
    if not ctx.has("roster"):
        return pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    r = ctx.tables["roster"]
    r = r.assign(**{c: pd.NA for c in cols if c not in r})
    order = (r["cert_status"] != "active").fillna(True) if "cert_status" in r else \
        pd.Series(False, index=r.index)
    r = r.assign(_o=order.to_numpy()).sort_values("_o", kind="stable")
    r = r[r["person_id"].notna()].drop_duplicates("person_id")
    out = r[cols].copy()
    out["grade"] = out["grade"].astype("Int64")
    out["category"] = out["category"].astype("Int64")
    return out.reset_index(drop=True)


def stop_months(ctx) -> pd.DataFrame:
    """Per person: ``death_month``, ``move_month``, ``cert_end_month`` (period[M];
    the event month itself is still payable), as far as the tables and the policy's
    ``stop_events`` say."""
    pol = ctx.policy
    roster = ctx.tables.get("roster")
    parts = []
    if pol.stop_events["death"] and ctx.has("deaths"):
        d = with_matched_ids(ctx.tables["deaths"], roster)
        d = d[d["died_on"].notna()]
        parts.append(pd.DataFrame({"person_id": d["person_id"].to_numpy(),
                                   "death_month": d["died_on"].dt.to_period("M").to_numpy(),
                                   "died_on": d["died_on"].astype("datetime64[s]").to_numpy()}))
    if pol.stop_events["move_out"] and ctx.has("moves"):
        m = with_matched_ids(ctx.tables["moves"], roster)
        m = m[m["moved_on"].notna() & moved_out(m)]
        parts.append(pd.DataFrame({"person_id": m["person_id"].to_numpy(),
                                   "move_month": m["moved_on"].dt.to_period("M").to_numpy(),
                                   "moved_on": m["moved_on"].astype("datetime64[s]").to_numpy()}))
    if pol.stop_events["cert_end"] and roster is not None:
        ce = cert_end_months(roster)
        parts.append(ce)
    cols = ["person_id", "death_month", "move_month", "cert_end_month"]
    if not parts:
        return pd.DataFrame({"person_id": pd.Series(dtype="string"),
                             **{c: pd.Series(dtype="period[M]") for c in cols[1:]},
                             **{c: pd.Series(dtype="datetime64[s]")
                                for c in ("died_on", "moved_on", "cert_end_on")}})
    allp = pd.concat(parts, ignore_index=True)
    for c in cols[1:]:
        if c not in allp:
            allp[c] = pd.Series(pd.NaT, index=allp.index, dtype="period[M]")
        allp[c] = allp[c].astype("period[M]")
    for c in ("died_on", "moved_on", "cert_end_on"):
        if c not in allp:
            allp[c] = pd.Series(pd.NaT, index=allp.index, dtype="datetime64[s]")
    agg = allp.groupby("person_id", sort=False)[cols[1:] + ["died_on", "moved_on", "cert_end_on"]].min()
    agg = agg.reset_index()
    for c in cols[1:]:
        agg[c] = agg[c].astype("period[M]")
    agg["person_id"] = agg["person_id"].astype("string")
    return agg


def cert_end_months(roster: pd.DataFrame) -> pd.DataFrame:
    """Per person whose every certificate has ended: the month of the latest end.

    A certificate ends at ``cert_cancelled_on`` (status ``cancelled``) or at
    ``cert_expires``. A person with any certificate still open (a renewal) has
    no end. Status ``moved`` is left to the move rule.
    """
    r = roster[roster["person_id"].notna()]
    end = pd.Series(pd.NaT, index=r.index, dtype="datetime64[s]")
    if "cert_expires" in r:
        end = r["cert_expires"].astype("datetime64[s]")
    if "cert_cancelled_on" in r and "cert_status" in r:
        canc = r["cert_cancelled_on"].astype("datetime64[s]").where(
            (r["cert_status"] == "cancelled").fillna(False))
        end = end.where(end.isna() | canc.isna() | (end <= canc), canc).fillna(canc)
    moved = (r["cert_status"] == "moved").fillna(False) if "cert_status" in r else False
    f = pd.DataFrame({"person_id": r["person_id"].to_numpy(), "end": end.to_numpy(),
                      "open": (end.isna() & ~moved).to_numpy()})
    g = f.groupby("person_id", sort=False).agg(end=("end", "max"), open=("open", "any"))
    g = g[~g["open"] & g["end"].notna()]
    return pd.DataFrame({"person_id": g.index.astype("string"),
                         "cert_end_month": g["end"].dt.to_period("M").to_numpy(),
                         "cert_end_on": g["end"].astype("datetime64[s]").to_numpy()})


def custody_months(ctx, lo, hi) -> pd.DataFrame:
    """``person_id, period``: months wholly inside a custody span, when the policy stops them."""
    if not (ctx.policy.stop_events["custody"] and ctx.has("custody")):
        return pd.DataFrame(columns=["person_id", "period"])
    c = with_matched_ids(ctx.tables["custody"], ctx.tables.get("roster"))
    c = c[c["start"].notna()]
    start = c["start"].astype("datetime64[s]")
    first = start.dt.to_period("M") + (start.dt.day > 1).astype(int)
    end = c["end"].astype("datetime64[s]") if "end" in c else pd.Series(pd.NaT, index=c.index)
    last = end.dt.to_period("M") - (~end.dt.is_month_end).astype(int)
    f = pd.DataFrame({"person_id": c["person_id"].to_numpy(), "s": first.to_numpy(),
                      "e": last.to_numpy()})
    f["s"] = f["s"].astype("period[M]")
    f["e"] = f["e"].astype("period[M]")
    return expand_months(f, "s", "e", lo, hi, ["person_id"]).drop_duplicates()


def program_months(table, programs, lo, hi) -> pd.DataFrame:
    """``person_id, program, period``: months a programme (低保, other benefits) covers."""
    t = table[table["person_id"].notna()]
    prog = t["program"].astype("string") if "program" in t else pd.Series("低保", index=t.index)
    t = t.assign(program=prog.fillna("低保").str.strip())
    t = t[t["program"].isin(list(programs))]
    return expand_months(t, "start_month", "end_month", lo, hi, ["person_id", "program"])

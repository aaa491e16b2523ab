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

Conflicting duplicates (issue 9 item 3) are data, never a silent choice of the
first row: ``resolve_by_date`` applies each row from its own date on, month by
month (``certificate_months``: roster grade/category from ``cert_issued``;
``entitlement_months``/``entitlement_spells``: entitlement rows from
``approved_on``/``start_month``, a history of several rows is one entitlement;
``card_holders``: account holders from ``opened_on``). Disagreeing rows without
dates stay unresolved and are listed by ``unresolved_conflicts`` (``table, key,
reason, rows, n_rows``); the rules that depend on them treat those subjects as
not checkable.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.log import logger
from ..core.reference import DISTRICT_NAME, township_aliases, townships

__all__ = ["prepare_payouts", "fold_subsidy", "expand_months", "with_matched_ids", "moved_out",
           "person_attributes", "stop_months", "cert_end_months", "custody_months", "program_months",
           "resolve_by_date", "certificate_months", "entitlement_months", "entitlement_spells",
           "card_holders", "unresolved_conflicts", "CONFLICT_COLUMNS"]

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
    """One row per roster person: ``person_id, name, township, village, grade,
    category, hukou_type``. Independent of row order.

    ``grade``/``category`` are those of the certificate in effect in the last
    month of the review period (:func:`certificate_months`); NA for a person
    whose certificates disagree without dates (an unresolved conflict: not
    checkable). The other columns come from the same certificate row, else
    (unresolved) from the first row in a fixed order: active certificate, latest
    ``cert_issued``, then file, sheet and row number.
    """
    cols = ["person_id", "name", "township", "village", "grade", "category", "hukou_type"]
    if not ctx.has("roster"):
        return pd.DataFrame({c: pd.Series(dtype="string") for c in cols})
    r = ctx.tables["roster"]
    r = r.assign(**{c: pd.NA for c in cols if c not in r})
    r = r[r["person_id"].notna()].reset_index(drop=True)
    # the certificate in effect in the last month (rows issued later do not count)
    at_end, _ = certificate_months(r, ctx.period[1], ctx.period[1])
    at_end = at_end.set_index("person_id")
    active = (r["cert_status"] != "active").fillna(True) if "cert_status" in r else \
        pd.Series(False, index=r.index)
    issued = r["cert_issued"] if "cert_issued" in r else pd.Series(pd.NaT, index=r.index)
    order = pd.DataFrame({"_inactive": active.to_numpy(bool), "_issued": issued.to_numpy(),
                          "_file": r["_file"].astype("string").to_numpy() if "_file" in r else "",
                          "_sheet": r["_sheet"].astype("string").to_numpy() if "_sheet" in r else "",
                          "_row": r["_row"].to_numpy() if "_row" in r else 0}, index=r.index)
    # the row in effect at the end of the period comes first; then the fixed order
    chosen = r["person_id"].map(at_end["_i"]) if len(at_end) else pd.Series(np.nan, index=r.index)
    order["_chosen"] = (chosen.to_numpy() != np.arange(len(r)))
    order = order.sort_values(["_chosen", "_inactive", "_issued", "_file", "_sheet", "_row"],
                              ascending=[True, True, False, True, True, True], na_position="last",
                              kind="stable")
    out = r.loc[order.index, cols].drop_duplicates("person_id").copy()
    out["grade"] = out["person_id"].map(at_end["grade"]).astype("Int64")
    out["category"] = out["person_id"].map(at_end["category"]).astype("Int64")
    return out.reset_index(drop=True)


# -- conflicting duplicates: each row applies from its own date on ---------------

CONFLICT_COLUMNS = ["table", "key", "reason", "rows", "n_rows"]


def _refs(frame: pd.DataFrame) -> pd.Series:
    """``file/sheet/row`` text per row (the provenance a person can look up)."""
    parts = [frame[c].astype("string").fillna("") if c in frame else pd.Series("", index=frame.index)
             for c in ("_file", "_sheet", "_row")]
    return parts[0] + "/" + parts[1] + "/" + parts[2]


def _joined(frame: pd.DataFrame, cols: list[str]) -> pd.Series:
    """The text of ``cols`` joined with ``|`` per row (missing as ``\\x00``), vectorised."""
    out = pd.Series("", index=frame.index, dtype="string")
    for i, c in enumerate(cols):
        out = out + ("|" if i else "") + frame[c].astype("string").fillna("\x00")
    return out


def resolve_by_date(frame: pd.DataFrame, table: str, key: list[str], values: list[str],
                    priority: str | None, lo: pd.Period, hi: pd.Period, start: str | None = None,
                    end: str | None = None, extend_first: bool = False,
                    reason_undated: str = "", reason_tie: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Month-by-month resolution of duplicate keys whose ``values`` disagree.

    Rule (issue 9 item 3): each row applies from its own date on, month by
    month. A row covers ``start``..``end`` (month columns; missing start = from
    ``lo``, missing end = to ``hi``); without ``start`` it covers from the month
    of ``priority`` (a date) to ``hi``, and with ``extend_first`` the earliest
    row of a key also covers the months before it. Where rows of one key cover
    the same month, the one with the latest ``priority`` applies. Rows that agree
    on ``values`` are no conflict (exact duplicates and renewals are one fact).
    A key stays **unresolved** when its rows disagree and one of them has no
    ``priority`` date, or the rows with the latest date in some month disagree.

    Parameters
    ----------
    frame : DataFrame
        Canonical table (provenance columns ``_file``, ``_sheet``, ``_row`` used
        for the conflict listing and kept in the result).
    key, values : list of str
        Key columns and the columns that must agree.
    priority : str or None
        Date (datetime64) or month column deciding which row applies.

    Returns
    -------
    months : DataFrame
        One row per key x month in ``lo``..``hi`` that some row covers: ``key``
        columns, ``period`` (period[M]), ``values`` (NA for unresolved keys),
        ``priority``, provenance, ``_i`` (position of the applying row in
        ``frame``, -1 when unresolved) and ``conflict`` (string: NA no conflict,
        ``resolved``, ``unresolved``).
    unresolved : DataFrame
        ``table, key, reason, rows, n_rows`` (:data:`CONFLICT_COLUMNS`), one
        row per unresolved key; ``key`` joins the key values with ``|``,
        ``rows`` the ``file/sheet/row`` references with ``;``.

    Notes
    -----
    Vectorised: rows are expanded to months (:func:`expand_months`) and the
    applying row per key x month is the first after one sort. Row order of
    ``frame`` never changes the result.
    """
    f = frame.reset_index(drop=True)
    f = f.assign(_i=np.arange(len(f)))
    f = f[f[key].notna().all(axis=1).to_numpy(bool)]
    for c in values:
        if c not in f:
            f[c] = pd.NA
    keys_text = _joined(f, key)
    f = f.assign(_k=pd.factorize(keys_text)[0], _v=pd.factorize(_joined(f, values))[0])
    pr = f[priority] if priority and priority in f else pd.Series(pd.NaT, index=f.index,
                                                                   dtype="datetime64[s]")
    if isinstance(pr.dtype, pd.PeriodDtype):
        pr = pr.dt.to_timestamp()
    f["_p"] = pr.astype("datetime64[s]").to_numpy()
    n_values = f.groupby("_k")["_v"].transform("nunique")
    disagree = (n_values > 1).to_numpy(bool)
    undated = disagree & f["_p"].isna().to_numpy(bool)
    bad = set(f.loc[undated, "_k"])
    # coverage: start..end months of every row
    if start:
        s = f[start].astype("period[M]")
    else:
        s = f["_p"].dt.to_period("M")
        if extend_first:
            first = f.groupby("_k")["_p"].transform("min")
            s = s.where(~(f["_p"] == first).fillna(False).to_numpy(bool), pd.NaT)
    f["_s"] = pd.Series(s.to_numpy(), index=f.index).astype("period[M]")
    f["_e"] = (f[end].astype("period[M]") if end and end in f else
               pd.Series(pd.NaT, index=f.index, dtype="period[M]"))
    keep = list(dict.fromkeys(key + values + ["_i", "_k", "_v", "_p"] +
                              [c for c in ("_file", "_sheet", "_row") if c in f] +
                              ([priority] if priority and priority in f else [])))
    m = expand_months(f, "_s", "_e", lo, hi, keep)
    m = m.sort_values(["_k", "period", "_p", "_v", "_i"], ascending=[True, True, False, True, True],
                      na_position="last", kind="stable")
    top_p = m.groupby(["_k", "period"], sort=False)["_p"].transform("first")
    at_top = (m["_p"] == top_p).fillna(False) | (m["_p"].isna() & top_p.isna())
    tie = m[at_top.to_numpy(bool)].groupby(["_k", "period"], sort=False)["_v"].nunique()
    bad |= set(tie[tie > 1].index.get_level_values(0))
    out = m.drop_duplicates(["_k", "period"]).copy()
    conflict = pd.Series(pd.NA, index=out.index, dtype="string")
    conflict[out["_k"].isin(set(f.loc[disagree, "_k"])).to_numpy(bool)] = "resolved"
    unres = out["_k"].isin(bad).to_numpy(bool)
    conflict[unres] = "unresolved"
    for c in values:
        out[c] = out[c].where(~unres)
    out.loc[unres, "_i"] = -1
    out["conflict"] = conflict
    rows = f[f["_k"].isin(bad)]
    rows = rows.assign(_ref=_refs(rows)).sort_values("_ref", kind="stable")
    reason = np.where(rows["_p"].isna().groupby(rows["_k"]).transform("any").to_numpy(bool),
                      reason_undated, reason_tie) if len(rows) else np.array([], dtype=object)
    listing = (rows.assign(_reason=reason, key=keys_text[rows.index].to_numpy())
               .groupby("key", sort=True)
               .agg(reason=("_reason", "first"), rows=("_ref", ";".join), n_rows=("_i", "size"))
               .reset_index())
    listing.insert(0, "table", table)
    listing = listing[CONFLICT_COLUMNS].astype({"table": "string", "key": "string", "reason": "string",
                                                "rows": "string", "n_rows": "int64"})
    out = out.drop(columns=["_k", "_v", "_p"]).reset_index(drop=True)
    return out, listing.reset_index(drop=True)


def certificate_months(roster: pd.DataFrame, lo: pd.Period, hi: pd.Period
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The certificate (grade, category) in effect per person x month.

    Each roster row applies from the month of its ``cert_issued`` on until a
    later-issued row of the same person takes over; the earliest row also
    covers the months before it (a person's only certificate counts for the
    whole period, as before). Rows agreeing on grade and category are no
    conflict. Disagreeing rows without an issue date leave the person
    unresolved: grade and category NA in every month (not checkable).

    Returns
    -------
    months : DataFrame
        ``person_id, period, grade, category (Int64), cert_issued, _file, _sheet,
        _row, _i, conflict`` (see :func:`resolve_by_date`).
    unresolved : DataFrame
        :data:`CONFLICT_COLUMNS`, ``table='roster'``.

    Examples
    --------
    A grade 3 certificate of 2015 and a grade 1 one of 2020-06: months up to
    2020-05 are grade 3, from 2020-06 on grade 1, whatever the row order.
    """
    r = roster.assign(**{c: pd.NA for c in ("grade", "category") if c not in roster})
    r = r.assign(grade=r["grade"].astype("Int64"), category=r["category"].astype("Int64"))
    months, unresolved = resolve_by_date(
        r, "roster", ["person_id"], ["grade", "category"], "cert_issued", lo, hi, extend_first=True,
        reason_undated="同一人有多条残疾证记录，等级或类别不一致，且缺少发证日期，无法判断各月适用哪一条",
        reason_tie="同一人有同一发证日期的多条残疾证记录，等级或类别不一致")
    months["grade"] = months["grade"].astype("Int64")
    months["category"] = months["category"].astype("Int64")
    return months, unresolved


def entitlement_months(entitlements: pd.DataFrame, policy, lo: pd.Period, hi: pd.Period
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The entitlement row in effect per person x subsidy x month.

    Each row covers its ``start_month``..``end_month``; where rows of one person
    and subsidy overlap, the row approved last (``approved_on``, else the later
    ``start_month``) applies. Rows agreeing on ``monthly_amount`` are no
    conflict; disagreeing overlapping rows with the same approval date (or
    none) leave that person x subsidy unresolved.

    Returns
    -------
    months : DataFrame
        ``person_id, subsidy`` (canonical), ``period``, ``monthly_amount``
        (Int64 fen; NA when unresolved), ``approved_on``, provenance, ``_i``,
        ``conflict``.
    unresolved : DataFrame
        :data:`CONFLICT_COLUMNS`, ``table='entitlements'``, key ``person_id|subsidy``.
    """
    e = entitlements.assign(subsidy=fold_subsidy(entitlements["subsidy"], policy)[0])
    if "monthly_amount" not in e:
        e = e.assign(monthly_amount=pd.Series(pd.NA, index=e.index, dtype="Int64"))
    start = e["start_month"].astype("period[M]")
    prio = e["approved_on"].astype("datetime64[s]") if "approved_on" in e else \
        pd.Series(pd.NaT, index=e.index, dtype="datetime64[s]")
    e = e.assign(_prio=prio.fillna(start.dt.to_timestamp().astype("datetime64[s]")))
    months, unresolved = resolve_by_date(
        e, "entitlements", ["person_id", "subsidy"], ["monthly_amount"], "_prio", lo, hi,
        start="start_month", end="end_month" if "end_month" in e else None,
        reason_undated="同一人同一补贴有重叠的享受记录，月标准不一致，且缺少审批日期",
        reason_tie="同一人同一补贴有同一审批日期的重叠享受记录，月标准不一致")
    return months.drop(columns=["_prio"], errors="ignore"), unresolved


def entitlement_spells(entitlements: pd.DataFrame, policy, lo: pd.Period, hi: pd.Period) -> pd.DataFrame:
    """One entitlement per person x subsidy x unbroken run of months.

    An entitlement history of several rows (a rate change opens a new row, a
    renewal continues it) is one entitlement as long as its months are
    contiguous or overlapping.

    Returns
    -------
    DataFrame
        ``person_id, subsidy, start_month, end_month`` (period[M], clipped to
        ``lo``..``hi``), ``approved_on`` (of the row in effect in the first
        month), ``n_rows`` (entitlement rows the spell rests on).
    """
    m, _ = entitlement_months(entitlements, policy, lo, hi)
    cols = ["person_id", "subsidy", "start_month", "end_month", "approved_on", "n_rows"]
    if m.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    m = m.sort_values(["person_id", "subsidy", "period"], kind="stable").reset_index(drop=True)
    o = m["period"].array.asi8
    same = ((m["person_id"] == m["person_id"].shift()) & (m["subsidy"] == m["subsidy"].shift())).fillna(False)
    new = ~(same.to_numpy(bool) & (o == np.r_[np.iinfo("int64").min, o[:-1]] + 1))
    m["_spell"] = np.cumsum(new)
    ent = entitlements.reset_index(drop=True)
    approved = ent["approved_on"].astype("datetime64[s]") if "approved_on" in ent else \
        pd.Series(pd.NaT, index=ent.index, dtype="datetime64[s]")
    idx = m["_i"].to_numpy()
    m["approved_on"] = np.where(idx >= 0, approved.to_numpy()[np.clip(idx, 0, None)] if len(ent) else
                                np.datetime64("NaT"), np.datetime64("NaT")).astype("datetime64[s]")
    g = m.groupby("_spell", sort=True)
    out = g.agg(person_id=("person_id", "first"), subsidy=("subsidy", "first"),
                start_month=("period", "min"), end_month=("period", "max"),
                approved_on=("approved_on", "first"), n_rows=("_i", "nunique")).reset_index(drop=True)
    return out[cols]


def card_holders(cards: pd.DataFrame, lo: pd.Period, hi: pd.Period) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The holder of each account per month: a card row applies from its
    ``opened_on`` (to its ``closed_on``); two holders of one account without
    opening dates are unresolved.

    Returns
    -------
    months : DataFrame
        ``account_no, period, holder_id`` (NA when unresolved), provenance, ``_i``, ``conflict``.
    unresolved : DataFrame
        :data:`CONFLICT_COLUMNS`, ``table='cards'``, key ``account_no``.
    """
    c = cards
    start = c["opened_on"].astype("datetime64[s]").dt.to_period("M") if "opened_on" in c else None
    end = c["closed_on"].astype("datetime64[s]").dt.to_period("M") if "closed_on" in c else None
    c = c.assign(_s=start if start is not None else pd.Series(pd.NaT, index=c.index, dtype="period[M]"),
                 _e=end if end is not None else pd.Series(pd.NaT, index=c.index, dtype="period[M]"))
    return resolve_by_date(c, "cards", ["account_no"], ["holder_id"], "opened_on", lo, hi,
                           start="_s", end="_e",
                           reason_undated="同一账号登记了不同持卡人，且缺少开户日期，无法判断各月的持卡人",
                           reason_tie="同一账号在同一开户日期登记了不同持卡人")


def unresolved_conflicts(tables: dict, policy, lo: pd.Period, hi: pd.Period) -> pd.DataFrame:
    """Every duplicate key whose rows disagree and cannot be resolved by dates.

    Returns
    -------
    DataFrame
        :data:`CONFLICT_COLUMNS` (``table, key, reason, rows, n_rows``): roster
        (key ``person_id``), entitlements (``person_id|subsidy``) and cards
        (``account_no``); empty when there is none. The rules that depend on a
        listed subject report it as not checkable, never as a finding.
    """
    parts = []
    if "roster" in tables:
        parts.append(certificate_months(tables["roster"], lo, hi)[1])
    if "entitlements" in tables:
        parts.append(entitlement_months(tables["entitlements"], policy, lo, hi)[1])
    if "cards" in tables:
        parts.append(card_holders(tables["cards"], lo, hi)[1])
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "n_rows" else "string")
                             for c in CONFLICT_COLUMNS})
    return pd.concat(parts, ignore_index=True)


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

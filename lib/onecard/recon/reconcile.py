"""Reconciliation: one row per person x subsidy x month of the review period.

Every money rule reads this one table (``RuleContext.recon``). A row exists for
each month in the review period that has a payout row, an entitlement, or
derived eligibility (roster + policy) for a listed subsidy item.

Columns
-------
person_id, subsidy (canonical name), period (period[M])
name, township, village : from payouts, else roster
grade, category (Int64), hukou_type : from the roster
standard_fen : Int64 fen, the policy standard for the person's tier and month
paid_fen : Int64 fen, all successful payments *for* that month, whenever paid
    (back-pay made later included; unmatched reversals net in)
paid_n : successful payment rows; ontime_n : of them paid by the deadline
    (or with no payment date); max_part_fen : the largest single payment
failed_fen, failed_n : failed or returned rows; treasury_n : returned to treasury
attempted_n : payout rows of any status
reversal_n : reversal rows (冲正: paired ``reversed`` rows, the payments they cancel
    included, and unpaired negative amounts); live_n : the other rows
net_paid_fen : int64 fen, the month's successful pay net of reversals (negative
    allowed; the month stays in the table when a reversal nets it to zero, for
    charts and for ``MISSED_MONTH``/``SHORT_PAYMENT``)
eligible : bool, grade/category and coverage conditions met (roster + policy)
entitled : bool, an entitlement record covers the month (or, without an
    entitlements table, ``eligible`` and not stopped)
covered : boolean, 低保/listed coverage in the month (NA: no dibao table)
exclusive_program : string, an exclusive benefit held in the month
death_month, move_month, cert_end_month : period[M] of the stop events
custody : bool, month wholly inside a custody span (if the policy stops it)
stopped : bool, month after a stop event or in custody
stop_event : string, which (死亡 / 迁出 / 证件注销或过期 / 羁押)

Notes
-----
Clauses 3.1.2 and 3.1.3 of ``FOCUS_PROBLEMS.md``; standards, coverage
programmes, exclusive benefits and stop events come from the policy file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pac

from .prepare import (cert_end_months, custody_months, expand_months, fold_subsidy, moved_out,  # noqa: F401
                      person_attributes, program_months, stop_months, with_matched_ids)

__all__ = ["reconcile", "person_attributes", "stop_months", "with_matched_ids", "moved_out"]

KEY = ["person_id", "subsidy", "period"]


class _Keys:
    """Integer keys for person x subsidy x month: ``(person * S + subsidy) * M + month``."""

    def __init__(self, ids: pa.Array, subsidies: list[str], lo: pd.Period, hi: pd.Period):
        self.ids, self.subs, self.lo = ids, subsidies, lo.ordinal
        self.subs_pa = pa.array(subsidies, type=pa.string())
        self.S, self.M = len(subsidies), hi.ordinal - lo.ordinal + 1

    def person(self, values) -> np.ndarray:
        return _index_in(values, self.ids)

    def subsidy(self, values) -> np.ndarray:
        return _index_in(values, self.subs_pa)

    def key(self, pc, sc, periods) -> np.ndarray:
        mo = _ordinals(periods) - self.lo
        return (np.asarray(pc, dtype="int64") * self.S + np.asarray(sc, dtype="int64")) * self.M + mo


def _arrow(values) -> pa.Array:
    """Text values as a pyarrow string array (zero-copy for arrow-backed columns)."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values
    else:
        arr = pa.array(pd.Series(values).astype("string[pyarrow]").array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr.cast(pa.string()) if arr.type != pa.string() else arr


def _index_in(values, value_set: pa.Array) -> np.ndarray:
    """Position of each value in ``value_set`` (int64; -1 when absent or missing)."""
    idx = pac.index_in(_arrow(values), value_set=value_set)
    return idx.fill_null(-1).to_numpy(zero_copy_only=False).astype("int64")


def _take_text(values, positions: np.ndarray) -> pa.Array:
    """``values[positions]`` as arrow text, null where ``positions`` < 0."""
    arr = _arrow(values)
    if len(arr) == 0:
        return pa.nulls(len(positions), type=pa.string())
    return arr.take(pa.array(positions, mask=positions < 0))


def _text_series(arr: pa.Array, index=None) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=index).astype("string")


def _ordinals(periods) -> np.ndarray:
    if isinstance(periods, np.ndarray):
        return periods.astype("int64")
    arr = periods.array if isinstance(periods, pd.Series) else periods
    return np.asarray(arr.asi8, dtype="int64")


def _uniq(x: np.ndarray) -> np.ndarray:
    """Sorted unique int64 values (sort-based; faster than ``np.unique`` here)."""
    a = np.sort(np.asarray(x, dtype="int64"), kind="stable")
    if len(a) == 0:
        return a
    return a[np.concatenate(([True], a[1:] != a[:-1]))]


def _lookup(sorted_keys: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each of ``keys`` in ``sorted_keys`` (-1 when absent)."""
    if len(sorted_keys) == 0:
        return np.full(len(keys), -1)
    pos = np.searchsorted(sorted_keys, keys)
    pos = np.clip(pos, 0, len(sorted_keys) - 1)
    return np.where(sorted_keys[pos] == keys, pos, -1)


def reconcile(ctx) -> pd.DataFrame:
    """Build the reconciliation table (see module docstring for the columns).

    Parameters
    ----------
    ctx : onecard.rules.catalogue.RuleContext
        Needs ``payouts``; uses ``roster``, ``entitlements``, ``dibao``,
        ``other_benefits``, ``deaths``, ``moves``, ``custody`` when supplied.

    Returns
    -------
    DataFrame, one row per person x subsidy x month in ``ctx.period``, sorted by
    person, subsidy, month. ``_ps`` is an int64 code of person x subsidy (for
    fast grouping).

    Notes
    -----
    Vectorised on integer keys; no per-row Python.
    """
    pol = ctx.policy
    lo, hi = ctx.period
    subs = [s.name for s in pol.subsidies]
    p = ctx.payouts
    po = _ordinals(p["period"])
    keep = (p["listed"].to_numpy(bool) & p["person_id"].notna().to_numpy(bool)
            & (po >= lo.ordinal) & (po <= hi.ordinal))
    p = p[keep]
    people = person_attributes(ctx)
    id_parts = [p["person_id"], people["person_id"]]
    ent_t = ctx.tables.get("entitlements")
    if ent_t is not None:
        id_parts.append(ent_t["person_id"].dropna())
    if ctx.has("dibao"):
        id_parts.append(ctx.tables["dibao"]["person_id"].dropna())
    ids = pac.unique(pa.concat_arrays([_arrow(x) for x in id_parts])).drop_null()
    K = _Keys(ids, subs, lo, hi)

    # payouts -> per key sums
    pc, sc = K.person(p["person_id"]), K.subsidy(p["subsidy"])
    k = K.key(pc, sc, p["period"])
    ok = p["ok"].to_numpy(bool)
    ontime = (p["paid_on"].isna() | (p["paid_on"] <= pol.deadline(p["period"]))).to_numpy(bool)
    status = p["status"]
    failed = status.isin(["failed", "returned"]).to_numpy(bool)
    amt = p["amount"].fillna(0).to_numpy("int64")
    # reversals (冲正): paired rows are both ``reversed``; an unpaired one is a negative ``paid``
    reversal = ((status == "reversed").to_numpy(bool) | (ok & (amt < 0)))
    agg = pd.DataFrame({"k": k, "paid_fen": np.where(ok, amt, 0), "paid_n": ok.astype("int64"),
                        "ontime_n": (ok & ontime).astype("int64"),
                        "max_part_fen": np.where(ok, amt, -1), "failed_fen": np.where(failed, amt, 0),
                        "failed_n": failed.astype("int64"),
                        "treasury_n": (status == "to_treasury").to_numpy(bool).astype("int64"),
                        "attempted_n": np.ones(len(p), dtype="int64"),
                        "reversal_n": reversal.astype("int64"),
                        "live_n": (~reversal).astype("int64"), "row": np.arange(len(p))})
    g = agg.groupby("k", sort=True)
    paid = g[["paid_fen", "paid_n", "ontime_n", "failed_fen", "failed_n", "treasury_n", "attempted_n",
              "reversal_n", "live_n"]].sum()
    paid["max_part_fen"] = g["max_part_fen"].max()
    paid["row"] = g["row"].min()
    paid_keys = paid.index.to_numpy("int64")

    key_parts = [paid_keys]
    # coverage (低保 or listed programme) per subsidy
    need_cov = {s.name: s.requires_coverage for s in pol.subsidies if s.requires_coverage}
    cov_keys = None
    if need_cov and ctx.has("dibao"):
        progs = sorted({x for v in need_cov.values() for x in v})
        pm = program_months(ctx.tables["dibao"], progs, lo, hi)
        parts = [K.key(K.person(pm["person_id"]), np.full(len(pm), subs.index(name)), pm["period"])[
                 pm["program"].isin(list(v)).to_numpy(bool)] for name, v in need_cov.items()]
        cov_keys = _uniq(np.concatenate(parts)) if parts else np.array([], dtype="int64")
        cov_keys = cov_keys[cov_keys >= 0]
    # derived eligibility from roster + policy
    elig_parts = []
    ppc = K.person(people["person_id"])
    for si, s in enumerate(pol.subsidies):
        okp = (pol.grade_eligible(people.assign(subsidy=s.name)).to_numpy(bool)
               & people["grade"].notna().to_numpy(bool))
        pcs = ppc[okp]
        if s.requires_coverage:
            if cov_keys is None:
                continue
            ck = cov_keys[(cov_keys // K.M) % K.S == si]
            elig_parts.append(ck[np.isin(ck // (K.S * K.M), pcs)])
        else:
            months = np.arange(K.M, dtype="int64")
            elig_parts.append(((np.repeat(pcs, K.M) * K.S + si) * K.M + np.tile(months, len(pcs))))
    elig_keys = _uniq(np.concatenate(elig_parts)) if elig_parts else np.array([], dtype="int64")
    key_parts.append(elig_keys)
    ent_keys = None
    if ent_t is not None:
        et = ent_t[ent_t["person_id"].notna()]
        et = et.assign(subsidy=fold_subsidy(et["subsidy"], pol)[0])
        em = expand_months(et, "start_month", "end_month", lo, hi, ["person_id", "subsidy"])
        esc = K.subsidy(em["subsidy"])
        ek = K.key(K.person(em["person_id"]), esc, em["period"])
        ent_keys = _uniq(ek[esc >= 0])
        key_parts.append(ent_keys)
    keys = _uniq(np.concatenate(key_parts))
    n = len(keys)
    rpc = keys // (K.S * K.M)
    rsc = (keys // K.M) % K.S
    rmo = keys % K.M
    rec = pd.DataFrame({
        "person_id": _text_series(ids.take(pa.array(rpc))),
        "subsidy": _text_series(K.subs_pa.take(pa.array(rsc))),
        "period": pd.PeriodIndex.from_ordinals(rmo + lo.ordinal, freq="M"),
        "_ps": keys // K.M})
    pos = _lookup(paid_keys, keys)
    has = pos >= 0
    for c in ("paid_fen", "paid_n", "ontime_n", "failed_fen", "failed_n", "treasury_n", "attempted_n",
              "reversal_n", "live_n"):
        rec[c] = np.where(has, paid[c].to_numpy("int64")[np.where(has, pos, 0)], 0)
    rec["max_part_fen"] = np.where(has, paid["max_part_fen"].to_numpy("int64")[np.where(has, pos, 0)], -1)
    rec["eligible"] = _lookup(elig_keys, keys) >= 0
    # attributes: payouts first, else roster
    prow = np.where(has, paid["row"].to_numpy("int64")[np.where(has, pos, 0)], -1)
    ppos = _index_in(ids, _arrow(people["person_id"]))[rpc] if len(people) else np.full(n, -1)
    pin = ppos >= 0
    for c in ("name", "township", "village"):
        val = pac.coalesce(_take_text(p[c], prow), _take_text(people[c], ppos))
        rec[c] = _text_series(val)
    for c in ("grade", "category"):
        arr = people[c].astype("Int64").to_numpy("float64", na_value=np.nan) if len(people) else np.zeros(0)
        v = np.where(pin, arr[np.where(pin, ppos, 0)] if len(arr) else np.nan, np.nan)
        rec[c] = pd.array(np.where(np.isnan(v), pd.NA, v), dtype="Float64").astype("Int64")
    rec["hukou_type"] = _text_series(_take_text(people["hukou_type"], ppos))
    if cov_keys is not None:
        needs = np.isin(rsc, [subs.index(x) for x in need_cov])
        cv = pd.array(_lookup(cov_keys, keys) >= 0, dtype="boolean")
        cv[~needs] = pd.NA
        rec["covered"] = cv
    else:
        rec["covered"] = pd.array([pd.NA] * n, dtype="boolean")
    # exclusive benefits
    xp = np.full(n, -1, dtype="int64")
    prog_names: list[str] = []
    if ctx.has("other_benefits"):
        excl = {s.name: s.exclusive_with for s in pol.subsidies if s.exclusive_with}
        prog_names = sorted({x for v in excl.values() for x in v})
        if prog_names:
            ob = program_months(ctx.tables["other_benefits"], prog_names, lo, hi)
            opc = K.person(ob["person_id"])
            ocode = _index_in(ob["program"], pa.array(prog_names, type=pa.string()))
            for name, v in excl.items():
                sel = ob["program"].isin(list(v)).to_numpy(bool) & (opc >= 0)
                okk = K.key(opc[sel], np.full(sel.sum(), subs.index(name)), ob["period"][sel])
                order = np.argsort(okk, kind="stable")
                uk = okk[order]
                first = np.concatenate(([True], uk[1:] != uk[:-1])) if len(uk) else np.zeros(0, bool)
                uk, codes = uk[first], ocode[sel][order][first]
                hit = _lookup(uk, keys)
                xp = np.where((hit >= 0) & (xp < 0), codes[np.where(hit >= 0, hit, 0)] if len(codes) else -1, xp)
    rec["exclusive_program"] = _text_series(_take_text(pa.array(prog_names, type=pa.string()), xp))
    # stop events
    stops = stop_months(ctx)
    spos = _index_in(ids, _arrow(stops["person_id"]))[rpc] if len(stops) else np.full(n, -1)
    sin = spos >= 0
    for c in ("death_month", "move_month", "cert_end_month"):
        o = _ordinals(stops[c]) if len(stops) else np.zeros(0, dtype="int64")
        v = np.where(sin, o[np.where(sin, spos, 0)] if len(o) else np.iinfo("int64").min, np.iinfo("int64").min)
        rec[c] = pd.PeriodIndex.from_ordinals(v, freq="M") if n else pd.PeriodIndex([], freq="M")
    for c in ("died_on", "moved_on", "cert_end_on"):
        arr = stops[c].to_numpy("datetime64[s]") if len(stops) else np.zeros(0, dtype="datetime64[s]")
        rec[c] = np.where(sin, arr[np.where(sin, spos, 0)] if len(arr) else np.datetime64("NaT"),
                          np.datetime64("NaT")).astype("datetime64[s]")
    cm = custody_months(ctx, lo, hi)
    if len(cm):
        ck = _uniq(K.person(cm["person_id"]) * K.M + (_ordinals(cm["period"]) - lo.ordinal))
        rec["custody"] = _lookup(ck, rpc * K.M + rmo) >= 0
    else:
        rec["custody"] = False
    ordv = rmo + lo.ordinal
    texts = ["羁押", "证件注销或过期", "迁出", "死亡"]
    label = np.where(rec["custody"].to_numpy(bool), 0, -1)
    nat = np.iinfo("int64").min
    for code, col in ((1, "cert_end_month"), (2, "move_month"), (3, "death_month")):
        o = rec[col].array.asi8
        label = np.where((o != nat) & (ordv > o), code, label)
    rec["stop_event"] = _text_series(_take_text(pa.array(texts), label))
    rec["stopped"] = rec["stop_event"].notna().to_numpy(bool)
    if ent_keys is not None:
        rec["entitled"] = _lookup(ent_keys, keys) >= 0
    else:
        rec["entitled"] = rec["eligible"].to_numpy(bool) & ~rec["stopped"].to_numpy(bool)
    rec["standard_fen"] = pol.standards_for(rec)
    rec["paid_fen"] = rec["paid_fen"].astype("Int64")
    rec["net_paid_fen"] = rec["paid_fen"].astype("int64")
    return rec

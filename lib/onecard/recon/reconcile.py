"""Reconciliation: one row per person x subsidy x month of the review period.

Every money rule reads this one table (``RuleContext.recon``). A row exists for
each month in the review period that has a payout row, an entitlement, or
derived eligibility (roster + policy) for a listed subsidy item.

Columns
-------
person_id, subsidy (canonical name), period (period[M])
name, township, village : from payouts, else roster
grade, category (Int64) : of the certificate in effect in that month (each roster
    row applies from its ``cert_issued`` month on, ``prepare.certificate_months``;
    NA for a person whose certificates disagree without dates)
cert_conflict : string, NA (one certificate or agreeing rows), ``resolved`` (rows
    disagreed, resolved by issue date month by month) or ``unresolved``
cert_rows : int64, roster rows of the person
hukou_type : from the roster
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

from .prepare import (cert_end_months, certificate_months, entitlement_months, custody_months, expand_months, fold_subsidy, moved_out,  # noqa: F401
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


def _certificate_months(ctx, lo: pd.Period, hi: pd.Period) -> pd.DataFrame:
    """``certificate_months`` of the roster plus ``_cert_rows`` (roster rows of the person)."""
    cols = {"person_id": "string", "grade": "Int64", "category": "Int64", "conflict": "string"}
    if not ctx.has("roster"):
        out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
        out["period"] = pd.PeriodIndex([], freq="M")
        out["_cert_rows"] = np.zeros(0, dtype="int64")
        return out
    r = ctx.tables["roster"]
    r = r[r["person_id"].notna()]
    cm, _ = certificate_months(r, lo, hi)
    counts = r["person_id"].value_counts()
    cm["_cert_rows"] = cm["person_id"].map(counts).fillna(0).astype("int64").to_numpy()
    return cm


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
    Vectorised on integer keys; no per-row Python. The steps: the review
    period's payouts and the key space; payouts summed per key; coverage,
    derived eligibility (certificate month by month) and entitlement keys; the
    frame of every key; then its columns: payments, attributes, certificates,
    coverage, exclusive benefits, stop events, entitlement and standard.
    """
    b = _Build(ctx)
    b.paid = _payout_sums(b)
    b.cov_keys, b.need_cov = _coverage_keys(b)
    b.elig_keys = _eligible_keys(b)
    b.ent_keys = _entitled_keys(b)
    rec = _frame(b)
    _add_payments(b, rec)
    _add_attributes(b, rec)
    _add_certificates(b, rec)
    _add_coverage(b, rec)
    _add_exclusive(b, rec)
    _add_stops(b, rec)
    _add_entitlement_and_standard(b, rec)
    return rec


class _Build:
    """What the steps of :func:`reconcile` share: the context, the review period's
    listed payouts ``p``, the people's attributes, the id dictionary ``ids`` and
    the integer key space ``K``; later steps add key arrays and lookups."""

    def __init__(self, ctx):
        self.ctx, self.pol = ctx, ctx.policy
        self.lo, self.hi = ctx.period
        self.subs = [s.name for s in self.pol.subsidies]
        p = ctx.payouts
        po = _ordinals(p["period"])
        keep = (p["listed"].to_numpy(bool) & p["person_id"].notna().to_numpy(bool)
                & (po >= self.lo.ordinal) & (po <= self.hi.ordinal))
        self.p = p[keep]
        self.people = person_attributes(ctx)
        id_parts = [self.p["person_id"], self.people["person_id"]]
        self.ent_t = ctx.tables.get("entitlements")
        if self.ent_t is not None:
            id_parts.append(self.ent_t["person_id"].dropna())
        if ctx.has("dibao"):
            id_parts.append(ctx.tables["dibao"]["person_id"].dropna())
        self.ids = pac.unique(pa.concat_arrays([_arrow(x) for x in id_parts])).drop_null()
        self.K = _Keys(self.ids, self.subs, self.lo, self.hi)


_SUM_COLUMNS = ["paid_fen", "paid_n", "ontime_n", "failed_fen", "failed_n", "treasury_n", "attempted_n",
                "reversal_n", "live_n"]


def _payout_sums(b: _Build) -> pd.DataFrame:
    """Payouts summed per key (``_SUM_COLUMNS``, ``max_part_fen``, first ``row``)."""
    p, K, pol = b.p, b.K, b.pol
    k = K.key(K.person(p["person_id"]), K.subsidy(p["subsidy"]), p["period"])
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
    paid = g[_SUM_COLUMNS].sum()
    paid["max_part_fen"] = g["max_part_fen"].max()
    paid["row"] = g["row"].min()
    return paid


def _coverage_keys(b: _Build):
    """Keys of months covered by 低保 (or the listed programme) for the subsidies that
    require coverage; ``(None, need)`` without a dibao table."""
    need_cov = {s.name: s.requires_coverage for s in b.pol.subsidies if s.requires_coverage}
    if not (need_cov and b.ctx.has("dibao")):
        return None, need_cov
    K = b.K
    progs = sorted({x for v in need_cov.values() for x in v})
    pm = program_months(b.ctx.tables["dibao"], progs, b.lo, b.hi)
    parts = [K.key(K.person(pm["person_id"]), np.full(len(pm), b.subs.index(name)), pm["period"])[
             pm["program"].isin(list(v)).to_numpy(bool)] for name, v in need_cov.items()]
    cov_keys = _uniq(np.concatenate(parts)) if parts else np.array([], dtype="int64")
    return cov_keys[cov_keys >= 0], need_cov


def _eligible_keys(b: _Build) -> np.ndarray:
    """Keys eligible from roster + policy, month by month: each certificate applies
    from its issue month on (``prepare.certificate_months``; issue 9 item 3)."""
    K, lo = b.K, b.lo
    b.cm = cm = _certificate_months(b.ctx, lo, b.hi)
    b.cpc = cpc = K.person(cm["person_id"])
    cmo = _ordinals(cm["period"]) - lo.ordinal
    cin = (cpc >= 0) & cm["grade"].notna().to_numpy(bool)
    b.cert_pm = cert_pm = cpc * K.M + cmo  # person x month code
    elig_parts = []
    for si, s in enumerate(b.pol.subsidies):
        okp = b.pol.grade_eligible(cm.assign(subsidy=s.name)).to_numpy(bool) & cin
        pm_ok = _uniq(cert_pm[okp])
        if s.requires_coverage:
            if b.cov_keys is None:
                continue
            ck = b.cov_keys[(b.cov_keys // K.M) % K.S == si]
            elig_parts.append(ck[_lookup(pm_ok, (ck // (K.S * K.M)) * K.M + ck % K.M) >= 0])
        else:
            elig_parts.append((pm_ok // K.M * K.S + si) * K.M + pm_ok % K.M)
    return _uniq(np.concatenate(elig_parts)) if elig_parts else np.array([], dtype="int64")


def _entitled_keys(b: _Build):
    """Keys some entitlement row covers (``prepare.entitlement_months``: overlapping
    rows resolved by approval date; an unresolved amount still covers the month);
    None without an entitlements table."""
    if b.ent_t is None:
        return None
    K = b.K
    em, _ = entitlement_months(b.ent_t[b.ent_t["person_id"].notna()], b.pol, b.lo, b.hi)
    esc = K.subsidy(em["subsidy"])
    ek = K.key(K.person(em["person_id"]), esc, em["period"])
    return _uniq(ek[esc >= 0])


def _frame(b: _Build) -> pd.DataFrame:
    """One row per key of payouts, eligibility or entitlement: person, subsidy, month."""
    K = b.K
    parts = [b.paid.index.to_numpy("int64"), b.elig_keys] + ([b.ent_keys] if b.ent_keys is not None else [])
    b.keys = keys = _uniq(np.concatenate(parts))
    b.rpc = keys // (K.S * K.M)
    b.rsc = (keys // K.M) % K.S
    b.rmo = keys % K.M
    return pd.DataFrame({
        "person_id": _text_series(b.ids.take(pa.array(b.rpc))),
        "subsidy": _text_series(K.subs_pa.take(pa.array(b.rsc))),
        "period": pd.PeriodIndex.from_ordinals(b.rmo + b.lo.ordinal, freq="M"),
        "_ps": keys // K.M})


def _add_payments(b: _Build, rec: pd.DataFrame) -> None:
    """The payout sums of each key (0 where none) and ``eligible``."""
    paid_keys = b.paid.index.to_numpy("int64")
    b.pos = pos = _lookup(paid_keys, b.keys)
    b.has = has = pos >= 0
    for c in _SUM_COLUMNS:
        rec[c] = np.where(has, b.paid[c].to_numpy("int64")[np.where(has, pos, 0)], 0)
    rec["max_part_fen"] = np.where(has, b.paid["max_part_fen"].to_numpy("int64")[np.where(has, pos, 0)], -1)
    rec["eligible"] = _lookup(b.elig_keys, b.keys) >= 0


def _add_attributes(b: _Build, rec: pd.DataFrame) -> None:
    """Name, township, village (payouts first, else roster) and hukou type."""
    n = len(b.keys)
    prow = np.where(b.has, b.paid["row"].to_numpy("int64")[np.where(b.has, b.pos, 0)], -1)
    ppos = _index_in(b.ids, _arrow(b.people["person_id"]))[b.rpc] if len(b.people) else np.full(n, -1)
    for c in ("name", "township", "village"):
        rec[c] = _text_series(pac.coalesce(_take_text(b.p[c], prow), _take_text(b.people[c], ppos)))
    rec["hukou_type"] = _text_series(_take_text(b.people["hukou_type"], ppos))


def _add_certificates(b: _Build, rec: pd.DataFrame) -> None:
    """Grade/category of the certificate in effect in the row's month, and whether it
    rests on a resolved or unresolved conflict (``cert_conflict``, ``cert_rows``)."""
    cm, K = b.cm, b.K
    csel = b.cpc >= 0
    corder = np.argsort(b.cert_pm[csel], kind="stable")
    c_sorted = b.cert_pm[csel][corder]
    cpos = _lookup(c_sorted, b.rpc * K.M + b.rmo)
    cin_r = cpos >= 0
    for c in ("grade", "category"):
        arr = cm[c].astype("Int64").to_numpy("float64", na_value=np.nan)[csel][corder]
        v = np.where(cin_r, arr[np.where(cin_r, cpos, 0)] if len(arr) else np.nan, np.nan)
        rec[c] = pd.array(np.where(np.isnan(v), pd.NA, v), dtype="Float64").astype("Int64")
    conf = cm["conflict"].astype("string").to_numpy(object, na_value=None)[csel][corder]
    nrows = cm["_cert_rows"].to_numpy("int64")[csel][corder]
    rec["cert_conflict"] = pd.array(np.where(cin_r, conf[np.where(cin_r, cpos, 0)] if len(conf) else None,
                                             None), dtype="string")
    rec["cert_rows"] = np.where(cin_r, nrows[np.where(cin_r, cpos, 0)] if len(nrows) else 0, 0)


def _add_coverage(b: _Build, rec: pd.DataFrame) -> None:
    """``covered``: True/False for subsidies that need coverage, NA otherwise or
    without a dibao table."""
    n = len(b.keys)
    if b.cov_keys is None:
        rec["covered"] = pd.array([pd.NA] * n, dtype="boolean")
        return
    needs = np.isin(b.rsc, [b.subs.index(x) for x in b.need_cov])
    cv = pd.array(_lookup(b.cov_keys, b.keys) >= 0, dtype="boolean")
    cv[~needs] = pd.NA
    rec["covered"] = cv


def _add_exclusive(b: _Build, rec: pd.DataFrame) -> None:
    """``exclusive_program``: an exclusive benefit held in the month (first by code)."""
    K, keys = b.K, b.keys
    xp = np.full(len(keys), -1, dtype="int64")
    prog_names: list[str] = []
    if b.ctx.has("other_benefits"):
        excl = {s.name: s.exclusive_with for s in b.pol.subsidies if s.exclusive_with}
        prog_names = sorted({x for v in excl.values() for x in v})
        if prog_names:
            ob = program_months(b.ctx.tables["other_benefits"], prog_names, b.lo, b.hi)
            opc = K.person(ob["person_id"])
            ocode = _index_in(ob["program"], pa.array(prog_names, type=pa.string()))
            for name, v in excl.items():
                sel = ob["program"].isin(list(v)).to_numpy(bool) & (opc >= 0)
                okk = K.key(opc[sel], np.full(sel.sum(), b.subs.index(name)), ob["period"][sel])
                order = np.argsort(okk, kind="stable")
                uk = okk[order]
                first = np.concatenate(([True], uk[1:] != uk[:-1])) if len(uk) else np.zeros(0, bool)
                uk, codes = uk[first], ocode[sel][order][first]
                hit = _lookup(uk, keys)
                xp = np.where((hit >= 0) & (xp < 0), codes[np.where(hit >= 0, hit, 0)] if len(codes) else -1, xp)
    rec["exclusive_program"] = _text_series(_take_text(pa.array(prog_names, type=pa.string()), xp))


def _add_stops(b: _Build, rec: pd.DataFrame) -> None:
    """Stop-event months and dates, custody, ``stop_event`` and ``stopped``."""
    n, K, lo = len(b.keys), b.K, b.lo
    stops = stop_months(b.ctx)
    spos = _index_in(b.ids, _arrow(stops["person_id"]))[b.rpc] if len(stops) else np.full(n, -1)
    sin = spos >= 0
    nat = np.iinfo("int64").min
    for c in ("death_month", "move_month", "cert_end_month"):
        o = _ordinals(stops[c]) if len(stops) else np.zeros(0, dtype="int64")
        v = np.where(sin, o[np.where(sin, spos, 0)] if len(o) else nat, nat)
        rec[c] = pd.PeriodIndex.from_ordinals(v, freq="M") if n else pd.PeriodIndex([], freq="M")
    for c in ("died_on", "moved_on", "cert_end_on"):
        arr = stops[c].to_numpy("datetime64[s]") if len(stops) else np.zeros(0, dtype="datetime64[s]")
        rec[c] = np.where(sin, arr[np.where(sin, spos, 0)] if len(arr) else np.datetime64("NaT"),
                          np.datetime64("NaT")).astype("datetime64[s]")
    cm = custody_months(b.ctx, lo, b.hi)
    if len(cm):
        ck = _uniq(K.person(cm["person_id"]) * K.M + (_ordinals(cm["period"]) - lo.ordinal))
        rec["custody"] = _lookup(ck, b.rpc * K.M + b.rmo) >= 0
    else:
        rec["custody"] = False
    ordv = b.rmo + lo.ordinal
    texts = ["羁押", "证件注销或过期", "迁出", "死亡"]
    label = np.where(rec["custody"].to_numpy(bool), 0, -1)
    for code, col in ((1, "cert_end_month"), (2, "move_month"), (3, "death_month")):
        o = rec[col].array.asi8
        label = np.where((o != nat) & (ordv > o), code, label)
    rec["stop_event"] = _text_series(_take_text(pa.array(texts), label))
    rec["stopped"] = rec["stop_event"].notna().to_numpy(bool)


def _add_entitlement_and_standard(b: _Build, rec: pd.DataFrame) -> None:
    """``entitled`` (an entitlement row covers the month, else eligible and not
    stopped), ``standard_fen`` from the policy, paid money as Int64/int64."""
    if b.ent_keys is not None:
        rec["entitled"] = _lookup(b.ent_keys, b.keys) >= 0
    else:
        rec["entitled"] = rec["eligible"].to_numpy(bool) & ~rec["stopped"].to_numpy(bool)
    rec["standard_fen"] = b.pol.standards_for(rec)
    rec["paid_fen"] = rec["paid_fen"].astype("Int64")
    rec["net_paid_fen"] = rec["paid_fen"].astype("int64")

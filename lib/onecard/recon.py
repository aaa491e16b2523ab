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

from .prepare import expand_months, fold_subsidy
from .reference import DISTRICT_NAME, township_aliases, townships

__all__ = ["reconcile", "person_attributes", "stop_months", "with_matched_ids", "moved_out"]

KEY = ["person_id", "subsidy", "period"]


def with_matched_ids(ref: pd.DataFrame, roster: pd.DataFrame | None) -> pd.DataFrame:
    """Reference-list rows with a ``person_id``: ID rows as given; ``no_id`` rows
    matched by name (``onecard.matching.match_by_name``) when available, else dropped."""
    has = ref["person_id"].notna() if "person_id" in ref else pd.Series(False, index=ref.index)
    if has.all() or roster is None:
        return ref[has]
    try:
        from .matching import match_by_name
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


def _custody_months(ctx, lo, hi) -> pd.DataFrame:
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


def _program_months(table, programs, lo, hi) -> pd.DataFrame:
    t = table[table["person_id"].notna()]
    prog = t["program"].astype("string") if "program" in t else pd.Series("低保", index=t.index)
    t = t.assign(program=prog.fillna("低保").str.strip())
    t = t[t["program"].isin(list(programs))]
    return expand_months(t, "start_month", "end_month", lo, hi, ["person_id", "program"])


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
    agg = pd.DataFrame({"k": k, "paid_fen": np.where(ok, amt, 0), "paid_n": ok.astype("int64"),
                        "ontime_n": (ok & ontime).astype("int64"),
                        "max_part_fen": np.where(ok, amt, -1), "failed_fen": np.where(failed, amt, 0),
                        "failed_n": failed.astype("int64"),
                        "treasury_n": (status == "to_treasury").to_numpy(bool).astype("int64"),
                        "attempted_n": np.ones(len(p), dtype="int64"), "row": np.arange(len(p))})
    g = agg.groupby("k", sort=True)
    paid = g[["paid_fen", "paid_n", "ontime_n", "failed_fen", "failed_n", "treasury_n", "attempted_n"]].sum()
    paid["max_part_fen"] = g["max_part_fen"].max()
    paid["row"] = g["row"].min()
    paid_keys = paid.index.to_numpy("int64")

    key_parts = [paid_keys]
    # coverage (低保 or listed programme) per subsidy
    need_cov = {s.name: s.requires_coverage for s in pol.subsidies if s.requires_coverage}
    cov_keys = None
    if need_cov and ctx.has("dibao"):
        progs = sorted({x for v in need_cov.values() for x in v})
        pm = _program_months(ctx.tables["dibao"], progs, lo, hi)
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
    for c in ("paid_fen", "paid_n", "ontime_n", "failed_fen", "failed_n", "treasury_n", "attempted_n"):
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
            ob = _program_months(ctx.tables["other_benefits"], prog_names, lo, hi)
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
    cm = _custody_months(ctx, lo, hi)
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
    return rec

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


def reconcile(ctx) -> pd.DataFrame:
    """Build the reconciliation table (see module docstring for the columns).

    Parameters
    ----------
    ctx : onecard.rules.catalogue.RuleContext
        Needs ``payouts``; uses ``roster``, ``entitlements``, ``dibao``,
        ``other_benefits``, ``deaths``, ``moves``, ``custody`` when supplied.

    Returns
    -------
    DataFrame, one row per person x subsidy x month in ``ctx.period``.
    """
    pol = ctx.policy
    lo, hi = ctx.period
    p = ctx.payouts
    p = p[p["listed"] & p["person_id"].notna() & p["period"].notna()]
    p = p[(p["period"] >= lo) & (p["period"] <= hi)]
    ok = p["ok"].to_numpy(bool)
    dl = pol.deadline(p["period"])
    ontime = (p["paid_on"].isna() | (p["paid_on"] <= dl)).to_numpy(bool)
    failed = p["status"].isin(["failed", "returned"]).to_numpy(bool)
    amt = p["amount"].fillna(0).astype("int64").to_numpy()
    agg_in = pd.DataFrame({
        "person_id": p["person_id"].astype("string").to_numpy(),
        "subsidy": p["subsidy"].astype("string").to_numpy(), "period": p["period"].to_numpy(),
        "paid_fen": np.where(ok, amt, 0), "paid_n": ok.astype("int64"),
        "ontime_n": (ok & ontime).astype("int64"), "max_part_fen": np.where(ok, amt, -1),
        "failed_fen": np.where(failed, amt, 0), "failed_n": failed.astype("int64"),
        "treasury_n": (p["status"] == "to_treasury").to_numpy(bool).astype("int64"),
        "attempted_n": np.ones(len(p), dtype="int64")})
    agg_in["period"] = agg_in["period"].astype("period[M]")
    paid = agg_in.groupby(KEY, sort=False, observed=True).agg(
        paid_fen=("paid_fen", "sum"), paid_n=("paid_n", "sum"), ontime_n=("ontime_n", "sum"),
        max_part_fen=("max_part_fen", "max"), failed_fen=("failed_fen", "sum"),
        failed_n=("failed_n", "sum"), treasury_n=("treasury_n", "sum"),
        attempted_n=("attempted_n", "sum")).reset_index()
    where = p.drop_duplicates(KEY)[KEY + ["name", "township", "village"]]
    where = where.assign(person_id=where["person_id"].astype("string"),
                         subsidy=where["subsidy"].astype("string"))
    paid = paid.merge(where, on=KEY, how="left")

    people = person_attributes(ctx)
    frames = [paid]
    # coverage (低保 or listed programme) per subsidy
    cov = None
    need_cov = {s.name: s.requires_coverage for s in pol.subsidies if s.requires_coverage}
    if need_cov and ctx.has("dibao"):
        progs = sorted({x for v in need_cov.values() for x in v})
        pm = _program_months(ctx.tables["dibao"], progs, lo, hi)
        cov = pd.concat([pm[pm["program"].isin(list(v))].assign(subsidy=k)
                         for k, v in need_cov.items()], ignore_index=True)
        cov = cov[["person_id", "subsidy", "period"]].drop_duplicates().assign(covered=True)
        cov["person_id"] = cov["person_id"].astype("string")
        cov["subsidy"] = cov["subsidy"].astype("string")
    # derived eligibility from roster + policy
    elig = []
    months = pd.period_range(lo, hi, freq="M")
    for s in pol.subsidies:
        ok_people = people[pol.grade_eligible(people.assign(subsidy=s.name)).to_numpy(bool)
                           & people["grade"].notna().to_numpy(bool)]
        if s.requires_coverage:
            if cov is None:
                continue
            e = cov[cov["subsidy"] == s.name][["person_id", "subsidy", "period"]]
            e = e[e["person_id"].isin(ok_people["person_id"])]
        else:
            n = len(ok_people)
            e = pd.DataFrame({"person_id": np.repeat(ok_people["person_id"].to_numpy(), len(months)),
                              "subsidy": s.name, "period": np.tile(months, n)})
        elig.append(e)
    elig = (pd.concat(elig, ignore_index=True) if elig else
            pd.DataFrame(columns=KEY)).assign(eligible=True)
    elig["person_id"] = elig["person_id"].astype("string")
    elig["subsidy"] = elig["subsidy"].astype("string")
    elig["period"] = elig["period"].astype("period[M]")
    frames.append(elig[KEY])
    ent = None
    if ctx.has("entitlements"):
        et = ctx.tables["entitlements"]
        et = et[et["person_id"].notna()].assign(subsidy=fold_subsidy(et["subsidy"], pol)[0])
        ent = expand_months(et, "start_month", "end_month", lo, hi, ["person_id", "subsidy"])
        ent = ent.drop_duplicates().assign(entitled=True)
        ent["person_id"] = ent["person_id"].astype("string")
        ent["subsidy"] = ent["subsidy"].astype("string")
        frames.append(ent[KEY])
    keys = pd.concat([f[KEY] for f in frames], ignore_index=True).drop_duplicates()
    keys["period"] = keys["period"].astype("period[M]")
    rec = keys.merge(paid, on=KEY, how="left")
    for c in ("paid_fen", "paid_n", "ontime_n", "failed_fen", "failed_n", "treasury_n", "attempted_n"):
        rec[c] = rec[c].fillna(0).astype("int64")
    rec["max_part_fen"] = rec["max_part_fen"].fillna(-1).astype("int64")
    rec = rec.merge(elig, on=KEY, how="left")
    rec["eligible"] = rec["eligible"].fillna(False).astype(bool)
    attrs = people.rename(columns={"name": "r_name", "township": "r_township", "village": "r_village"})
    rec = rec.merge(attrs, on="person_id", how="left")
    for c in ("name", "township", "village"):
        rec[c] = rec[c].astype("string").fillna(rec["r_" + c].astype("string"))
    rec = rec.drop(columns=["r_name", "r_township", "r_village"])
    if cov is not None:
        rec = rec.merge(cov, on=KEY, how="left")
        needs = rec["subsidy"].isin(list(need_cov)).to_numpy(bool)
        rec["covered"] = rec["covered"].astype("boolean").fillna(False).where(needs, pd.NA)
    else:
        rec["covered"] = pd.array([pd.NA] * len(rec), dtype="boolean")
    # exclusive benefits
    rec["exclusive_program"] = pd.Series(pd.NA, index=rec.index, dtype="string")
    if ctx.has("other_benefits"):
        excl = {s.name: s.exclusive_with for s in pol.subsidies if s.exclusive_with}
        progs = sorted({x for v in excl.values() for x in v})
        if progs:
            ob = _program_months(ctx.tables["other_benefits"], progs, lo, hi)
            ob = pd.concat([ob[ob["program"].isin(list(v))].assign(subsidy=k)
                            for k, v in excl.items()], ignore_index=True)
            ob = ob.drop_duplicates(KEY)[KEY + ["program"]].rename(columns={"program": "xp"})
            ob["person_id"] = ob["person_id"].astype("string")
            ob["subsidy"] = ob["subsidy"].astype("string")
            rec = rec.merge(ob, on=KEY, how="left")
            rec["exclusive_program"] = rec.pop("xp").astype("string")
    # stop events
    stops = stop_months(ctx)
    rec = rec.merge(stops, on="person_id", how="left")
    for c in ("death_month", "move_month", "cert_end_month"):
        rec[c] = rec[c].astype("period[M]")
    cm = _custody_months(ctx, lo, hi)
    if len(cm):
        cm = cm.assign(custody=True, person_id=cm["person_id"].astype("string"))
        cm["period"] = cm["period"].astype("period[M]")
        rec = rec.merge(cm, on=["person_id", "period"], how="left")
        rec["custody"] = rec["custody"].fillna(False).astype(bool)
    else:
        rec["custody"] = False
    per = rec["period"]
    label = pd.Series(pd.NA, index=rec.index, dtype="string")
    for col, text in (("custody", "羁押"), ("cert_end_month", "证件注销或过期"),
                      ("move_month", "迁出"), ("death_month", "死亡")):
        hit = rec[col].to_numpy(bool) if col == "custody" else (per > rec[col]).fillna(False).to_numpy(bool)
        label = label.mask(hit, text)
    rec["stop_event"] = label
    rec["stopped"] = label.notna().to_numpy(bool)
    if ent is not None:
        rec = rec.merge(ent, on=KEY, how="left")
        rec["entitled"] = rec["entitled"].fillna(False).astype(bool)
    else:
        rec["entitled"] = rec["eligible"] & ~rec["stopped"]
    rec["standard_fen"] = pol.standards_for(rec)
    rec["paid_fen"] = rec["paid_fen"].astype("Int64")
    return rec.sort_values(KEY, kind="stable").reset_index(drop=True)

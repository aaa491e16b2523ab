"""Demo district generator: a realistic 蔡甸区 export set with labelled anomalies.

``generate(out_dir, seed=0, scale=1.0, policy_path=None)`` writes the office
files to ``out_dir`` and the answers to the sibling folder ``<out_dir>_truth/``
(``truth.csv``, ``decoys.csv``, ``quarantine_expected.csv``, ``summary.json``,
``README.md``), which a run never reads.

Modules: ``base`` (IDs, cards, phones, names, standards), ``people`` (clean
baseline), ``payouts`` (monthly payouts), ``events`` (decoys), ``inject`` and
``accounts`` (anomalies), ``office`` and ``writers`` (files).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.log import logger
from . import base
from .accounts import inject_account_rules
from .events import post_events, pre_events
from .inject import (apply_invalid_ids, inject_eligibility_rules, inject_payment_rules,
                     inject_stop_rules)
from .office import payout_files, roster_file, simple_files
from .payouts import build_payouts, entitlement_spans
from .people import District, make_cards, make_officials, make_people
from .truthdocs import README_TEXT

__all__ = ["generate", "TRUTH_COLUMNS", "DECOY_COLUMNS", "QUARANTINE_COLUMNS"]

TRUTH_COLUMNS = ["rule_id", "subject_type", "subject_id", "related_ids", "subsidy",
                 "period_start", "period_end"]
DECOY_COLUMNS = ["kind", "subject_type", "subject_id"]
QUARANTINE_COLUMNS = ["file", "sheet", "row", "reason"]


def generate(out_dir, seed: int = 0, scale: float = 1.0, policy_path=None,
             self_approval_cases: int = 0) -> dict:
    """Write a demo district export set and its answers.

    Parameters
    ----------
    out_dir : str or Path
        Folder for the office files (created). Answers go to ``<out_dir>_truth``.
    seed : int
        Random seed; the same seed and scale give the same data.
    scale : float
        1.0 ≈ the real district (about 20,000 certificate holders, 300,000
        payout rows); 0.05 gives a small set (at least 800 holders).
    policy_path : str or Path, optional
        Policy file for item names and standards (default: the Hubei baseline).
    self_approval_cases : int
        Extra ``SELF_APPROVAL`` cases (handler = the beneficiary's own ID), for load
        tests (``bench/bench_rules.py --self-approval-cases``); 0 = none.

    Returns
    -------
    dict
        ``files`` (names written), ``rows`` (rows per table), ``anomalies``
        (truth rows per rule_id), ``decoys`` (per kind), ``seconds``, ``seed``, ``scale``.

    Notes
    -----
    Standards come from the policy file (``onecard.policy``), never literals.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    truth_dir = out.parent / (out.name + "_truth")
    out.mkdir(parents=True, exist_ok=True)
    truth_dir.mkdir(parents=True, exist_ok=True)
    names, std, _ = base.standards(policy_path)
    d = District(np.random.default_rng(seed), names, std)
    d.deferred, d.invalid_ids, d.unregistered, d.numeric_ids = [], [], {}, []
    n = max(800, int(round(20000 * scale)))
    k = max(5, int(round(0.0015 * n)))
    make_people(d, n)
    make_cards(d)
    make_officials(d)
    from ..core import reference
    t = reference.townships()
    d.town_codes = dict(zip(t["name"], t["code"]))
    d.town_names = dict(zip(t["code"], t["name"]))
    d.people["in_roster"] = True
    pre_events(d, k)
    digit_end = (d.people["person_id"].str[-1] != "X").to_numpy()
    from .inject import _full
    for i in d.pick(2, _full(d, None, digit_end)):
        d.numeric_ids.append(d.people.loc[i, "person_id"])
        d.decoy("roster_id_precision_lost", "person", d.people.loc[i, "person_id"])
    d.ent = _entitlements(d)
    if self_approval_cases:
        from .cases import mark_self_approval
        from .inject import _t
        for pid in mark_self_approval(d.ent, self_approval_cases, d.rng):
            _t(d, "SELF_APPROVAL", "person", pid)
    d.payouts = build_payouts(d)
    post_events(d, k)
    inject_payment_rules(d, k)
    inject_stop_rules(d, k)
    inject_eligibility_rules(d, k)
    inject_account_rules(d, k)
    apply_invalid_ids(d)
    tables = _tables(d)
    _disclosure_anomalies(d, k, tables)
    truth = _truth(d)
    q = payout_files(d, out, tables["payouts"], tables["cards"])
    q += roster_file(d, out, tables["roster"])
    q += simple_files(d, out, tables)
    truth.to_csv(truth_dir / "truth.csv", index=False, encoding="utf-8")
    decoys = pd.DataFrame(d.decoys, columns=DECOY_COLUMNS).drop_duplicates()
    decoys.to_csv(truth_dir / "decoys.csv", index=False, encoding="utf-8")
    pd.DataFrame(q, columns=QUARANTINE_COLUMNS).to_csv(
        truth_dir / "quarantine_expected.csv", index=False, encoding="utf-8")
    (truth_dir / "README.md").write_text(README_TEXT, encoding="utf-8")
    summary = {
        "seed": seed, "scale": scale, "people": n, "cases_per_rule": k,
        "files": sorted(f.name for f in out.iterdir()),
        "rows": {name: int(len(f)) for name, f in tables.items()},
        "anomalies": {r: int(c) for r, c in truth["rule_id"].value_counts().sort_index().items()},
        "decoys": {r: int(c) for r, c in decoys["kind"].value_counts().sort_index().items()},
    }
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    (truth_dir / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2),
                                            encoding="utf-8")
    logger.info("synth: %d people, %d payout rows, %d truth rows in %.1fs", n,
                len(tables["payouts"]), len(truth), summary["seconds"])
    return summary


def _entitlements(d: District) -> pd.DataFrame:
    ent = entitlement_spans(d)
    p = d.people
    ent["approved_on"] = p["approved_on"].to_numpy()[ent["pos"].to_numpy()]
    ent["approver"] = p["approver"].to_numpy()[ent["pos"].to_numpy()]
    ent["handler"] = p["handler"].to_numpy()[ent["pos"].to_numpy()]
    return ent


def _by_pos(d: District, rows: list, cols: list[str]) -> pd.DataFrame:
    """Reference-list rows keyed by person position -> frame with id, name, place."""
    f = pd.DataFrame(rows, columns=["pos"] + cols)
    p = d.people
    for c in ("person_id", "name", "township", "village"):
        f[c] = p[c].to_numpy()[f["pos"].to_numpy().astype(int)] if len(f) else pd.Series(dtype=object)
    return f


def _tables(d: District) -> dict[str, pd.DataFrame]:
    p = d.people
    roster = pd.concat([p[p["in_roster"]], pd.DataFrame(d.extra_roster)], ignore_index=True)
    roster = roster.sort_values(["township", "village", "person_id"], kind="stable")
    cards = pd.concat([d.cards, pd.DataFrame(d.extra_cards)], ignore_index=True)
    ent = d.ent.copy()
    pos = ent["pos"].to_numpy().astype(int)
    ent["person_id"] = p["person_id"].to_numpy()[pos]
    ent["name"] = p["name"].to_numpy()[pos]
    ent["subsidy"] = ent["sub"].map(d.names)
    ent["monthly"] = [int(d.std[s][min(max(a, 0), 23)]) for s, a in zip(ent["sub"], ent["start_ix"])]
    ent = ent.sort_values(["person_id", "subsidy"], kind="stable")
    dib = p[p["dibao"]].copy()
    dib["head"] = dib.groupby("household_id")["person_id"].transform("first")
    dib = dib.drop(columns=["start_ix", "end_ix"]).rename(columns={"dibao_start": "start_ix", "dibao_end": "end_ix"})
    po = d.payouts.sort_values(["period_ix", "township", "village", "person_id", "sub"], kind="stable")
    paid = po[(po["status"] == "成功") & po["sub"].isin(["care", "living"])
              & po["period_ix"].isin(base.PUBLISHED_MONTHS)]
    disc = paid.groupby(["person_id", "sub", "period_ix"], sort=True).agg(
        amount=("amount", "sum"), name=("name", "first"), township=("township", "first"),
        village=("village", "first")).reset_index()
    disc["subsidy"] = disc["sub"].map(d.names)
    return {
        "payouts": po.reset_index(drop=True), "roster": roster.reset_index(drop=True),
        "entitlements": ent.reset_index(drop=True), "cards": cards,
        "deaths": _by_pos(d, d.deaths, ["date", "source"]),
        "moves": _by_pos(d, d.moves, ["date", "source"]),
        "custody": _by_pos(d, d.custody, ["date", "end"]),
        "dibao": dib.reset_index(drop=True),
        "other": _by_pos(d, d.other, ["program", "start_ix", "end_ix", "monthly"]),
        "officials": d.officials, "relations": d.relations, "disclosures": disc,
    }


def _disclosure_anomalies(d: District, k: int, tables: dict) -> None:
    """公示 entries with a wrong amount, and payouts left off the list."""
    from .inject import _full
    disc = tables["disclosures"]
    drop = []
    for j, i in enumerate(d.pick(k, _full(d))):
        pid = d.people.loc[i, "person_id"]
        m = base.PUBLISHED_MONTHS[j % 2]
        rows = disc.index[(disc["person_id"] == pid) & (disc["period_ix"] == m)]
        r = rows[0]
        if j % 2:
            disc.loc[r, "amount"] += 1000
        else:
            drop.append(r)
        d.truth.append(("DISCLOSURE_MISMATCH", "person", pid, "", disc.loc[r, "sub"], m, m))
    tables["disclosures"] = disc.drop(index=drop).reset_index(drop=True)


def _truth(d: District) -> pd.DataFrame:
    po = d.payouts
    ok = po[(po["status"] == "成功") & po["sub"].isin(["care", "living"])]
    for rule, i, a, b, subf in d.deferred:
        pid = d.people.loc[i, "person_id"]
        r = ok[(ok["person_id"] == pid) & ok["period_ix"].between(a, b)]
        if subf:
            r = r[r["sub"] == subf]
        for sub, g in r.groupby("sub"):
            d.truth.append((rule, "person", pid, "", sub, g["period_ix"].min(), g["period_ix"].max()))
    t = pd.DataFrame(d.truth, columns=["rule_id", "subject_type", "subject_id", "related_ids", "sub", "a", "b"])
    t = t.groupby(["rule_id", "subject_type", "subject_id", "sub"], sort=True).agg(
        related_ids=("related_ids", "first"), a=("a", "min"), b=("b", "max")).reset_index()
    t["subsidy"] = t["sub"].map(d.names).fillna("")
    t["period_start"] = [base.month_str(x) for x in t["a"]]
    t["period_end"] = [base.month_str(x) for x in t["b"]]
    return t[TRUTH_COLUMNS]

"""Benchmark: the full rule catalogue on ~300k payout rows and at 10x (3M).

Usage::

    .venv/bin/python bench/bench_rules.py                 # scales 1 and 10
    .venv/bin/python bench/bench_rules.py --scale 1       # one scale
    .venv/bin/python bench/bench_rules.py --intake OUT    # canonical parquet from `onecard intake`

For each scale the canonical tables are generated (vectorised numpy) and
written as parquet, then two fresh processes are timed: a *bare load* (read
the same parquet tables) and the *full* run (load + prepare + reconciliation +
every rule of the catalogue). Reported: wall time and peak RSS of each process,
the rule stage alone, and the ratio full / bare. Target: the rule stage at 10x
in under a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROWS_PER_SCALE = 300_000
START = pd.Period("2020-01", "M")
N_MONTHS = 24
TOWNS = ["蔡甸街道", "奓山街道", "永安街道", "侏儒山街道", "大集街道", "张湾街道", "索河街道", "玉贤街道", "消泗乡"]
W = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])


def _ids(n: int, rng) -> np.ndarray:
    year = rng.integers(1940, 2005, n)
    month = rng.integers(1, 13, n)
    day = rng.integers(1, 29, n)
    seq = np.arange(n) % 1000
    body = np.char.add(np.char.add("420114", (year * 10000 + month * 100 + day).astype(str)),
                       np.char.zfill(seq.astype(str), 3))
    digits = np.array([list(b) for b in body], dtype=int) if n < 1000 else \
        np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - 48
    check = np.array(list("10X98765432"))[(digits * W).sum(axis=1) % 11]
    ids = np.char.add(body, check)
    return pd.unique(ids)


def generate(scale: float, seed: int = 0, self_approval_cases: int = 0) -> dict[str, pd.DataFrame]:
    """Canonical tables with about ``scale * 300k`` payout rows (vectorised).

    Entitlements name their approver (the township's 民政专干, on no list: the
    SELF_APPROVAL flood source) and handler; ``self_approval_cases`` beneficiaries
    get themselves as handler and approver (``onecard.synth.cases.mark_self_approval``).
    """
    rng = np.random.default_rng(seed)
    n = int(scale * ROWS_PER_SCALE / (N_MONTHS * 0.9))
    pid = _ids(int(n * 1.02), rng)[:n]
    n = len(pid)
    grade = rng.choice([1, 2, 3, 4], n, p=[0.25, 0.35, 0.2, 0.2])
    cat = rng.integers(1, 8, n)
    town = np.array(TOWNS)[rng.integers(0, len(TOWNS), n)]
    dibao = rng.random(n) < 0.3
    acct = np.char.add("62284800", np.char.zfill(np.arange(n).astype(str), 10))
    roster = pd.DataFrame({
        "person_id": pd.array(pid, dtype="string"), "name": pd.array(np.char.add("名", np.arange(n).astype(str)), dtype="string"),
        "cert_no": pd.array(np.char.add(np.char.add(pid, cat.astype(str)), grade.astype(str)), dtype="string"),
        "category": pd.array(cat, dtype="Int64"), "grade": pd.array(grade, dtype="Int64"),
        "cert_status": pd.array(["active"] * n, dtype="string"),
        "hukou_type": pd.array(np.where(rng.random(n) < 0.6, "rural", "urban"), dtype="string"),
        "township": pd.array(town, dtype="string"), "village": pd.array(["某村"] * n, dtype="string"),
        "household_id": pd.array(np.arange(n).astype(str), dtype="string")})
    # payouts: care for grades 1-2, living for dibao
    parts = []
    for subsidy, who, fen in (("重度残疾人护理补贴", grade <= 2, None), ("困难残疾人生活补贴", dibao, None)):
        idx = np.flatnonzero(who)
        k = len(idx)
        person = np.repeat(idx, N_MONTHS)
        month = np.tile(np.arange(N_MONTHS), k)
        if subsidy.startswith("重度"):
            amount = np.full(k * N_MONTHS, 10000)
        else:
            amount = np.where(month >= 12, 7000, 5000)
        parts.append(pd.DataFrame({"i": person, "m": month, "subsidy": subsidy, "amount": amount}))
    p = pd.concat(parts, ignore_index=True)
    # anomalies at small rates: duplicates, over-payments, late payments
    dup = p.sample(frac=0.003, random_state=seed)
    p.loc[p.sample(frac=0.002, random_state=seed + 1).index, "amount"] += 5000
    p = pd.concat([p, dup], ignore_index=True)
    late = rng.random(len(p)) < 0.01
    ords = START.ordinal + p["m"].to_numpy()
    paid_on = pd.PeriodIndex.from_ordinals(ords + late * 3, freq="M").to_timestamp() + pd.Timedelta(days=14)
    m = len(p)
    payouts = pd.DataFrame({
        "person_id": pd.array(pid[p["i"]], dtype="string"), "name": roster["name"].to_numpy()[p["i"]],
        "subsidy": pd.array(p["subsidy"].to_numpy(), dtype="string"),
        "period": pd.PeriodIndex.from_ordinals(ords, freq="M"),
        "paid_on": paid_on.astype("datetime64[s]"),
        "amount": pd.array(p["amount"].to_numpy(), dtype="Int64"),
        "net_amount": pd.array(p["amount"].to_numpy(), dtype="Int64"),
        "status": pd.array(np.where(rng.random(m) < 0.005, "failed", "paid"), dtype="string"),
        "account_no": pd.array(acct[p["i"]], dtype="string"),
        "bank": pd.array(np.where(rng.random(m) < 0.001, "某村镇银行", "中国农业银行"), dtype="string"),
        "township": pd.array(town[p["i"]], dtype="string"), "village": pd.array(["某村"] * m, dtype="string")})
    dead = rng.choice(n, max(1, n // 100), replace=False)
    deaths = pd.DataFrame({"person_id": pd.array(pid[dead], dtype="string"),
                           "died_on": (pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 700, len(dead)), "D"))
                           .astype("datetime64[s]")})
    cards = pd.DataFrame({"account_no": pd.array(acct, dtype="string"), "holder_id": pd.array(pid, dtype="string"),
                          "bank": pd.array(["中国农业银行"] * n, dtype="string"),
                          "opened_on": pd.Series(pd.Timestamp("2015-01-01"), index=range(n)).astype("datetime64[s]")})
    db = pd.DataFrame({"person_id": pd.array(pid[dibao], dtype="string"), "program": "低保",
                       "start_month": pd.PeriodIndex([pd.Period("2018-01", "M")] * int(dibao.sum()), freq="M")})
    ent = pd.concat([pd.DataFrame({"person_id": pd.array(pid[grade <= 2], dtype="string"), "subsidy": "重度残疾人护理补贴"}),
                     pd.DataFrame({"person_id": pd.array(pid[dibao], dtype="string"), "subsidy": "困难残疾人生活补贴"})],
                    ignore_index=True)
    ent["start_month"] = pd.PeriodIndex([pd.Period("2018-01", "M")] * len(ent), freq="M")
    town_of = pd.Series(town, index=pid)
    ent["township"] = pd.array(town_of.reindex(ent["person_id"].to_numpy()).to_numpy(), dtype="string")
    ent["approver"] = pd.array(("民政专干" + ent["township"].astype(str).str[:2]).to_numpy(), dtype="string")
    ent["handler"] = pd.array(["村专干"] * len(ent), dtype="string")
    if self_approval_cases:
        from onecard.synth.cases import mark_self_approval
        mark_self_approval(ent, self_approval_cases, rng,
                           names=pd.Series(roster["name"].to_numpy(), index=roster["person_id"].to_numpy()))
    banks = pd.DataFrame({"bank": pd.array(["中国农业银行", "中国邮政储蓄银行"], dtype="string"),
                          "approved_from": pd.to_datetime(["2010-01-01", "2010-01-01"]).astype("datetime64[s]")})
    tables = {"payouts": payouts, "roster": roster, "deaths": deaths, "cards": cards, "dibao": db,
              "entitlements": ent, "banks": banks}
    for name, t in tables.items():
        t["_file"] = pd.array([f"{name}.xlsx"] * len(t), dtype="string")
        t["_sheet"] = pd.array(["Sheet1"] * len(t), dtype="string")
        t["_row"] = pd.array(np.arange(2, len(t) + 2), dtype="Int64")
        t["_flags"] = pd.array([""] * len(t), dtype="string")
    return tables


def load(folder: Path) -> dict[str, pd.DataFrame]:
    """Read every ``<table>.parquet`` of ``folder``."""
    out = {}
    for f in sorted(folder.glob("*.parquet")):
        if f.stem == "quarantine":
            continue
        out[f.stem] = pd.read_parquet(f)
    return out


def _child(mode: str, folder: str) -> None:
    t0 = time.perf_counter()
    tables = load(Path(folder))
    t_load = time.perf_counter() - t0
    res = {"mode": mode, "load_s": round(t_load, 2), "payout_rows": len(tables["payouts"])}
    if mode == "full":
        from onecard.policy import load_policy
        from onecard.rules import RuleContext, run_catalogue
        from onecard.rules.catalogue import CATALOGUE
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        cpu0 = ru0.ru_utime + ru0.ru_stime
        t1 = time.perf_counter()
        ctx = RuleContext(tables, load_policy(), (pd.Period("2020-01", "M"), pd.Period("2021-12", "M")))
        ctx.payouts
        res["prepare_s"] = round(time.perf_counter() - t1, 2)
        t2 = time.perf_counter()
        ctx.recon
        res["recon_s"] = round(time.perf_counter() - t2, 2)
        t3 = time.perf_counter()
        ctx.network
        res["network_s"] = round(time.perf_counter() - t3, 2)
        findings, status = run_catalogue(ctx)
        res["rules_s"] = round(time.perf_counter() - t1, 2)  # the whole rule stage
        ru = resource.getrusage(resource.RUSAGE_SELF)
        res["rules_cpu_s"] = round(ru.ru_utime + ru.ru_stime - cpu0, 2)
        graph = status["rule_id"].map(lambda r: CATALOGUE[r].func.__module__.endswith(("network", "network_people")))
        res["graph_rules_s"] = round(float(status.loc[graph, "seconds"].sum()), 2)
        res["other_rules_s"] = round(float(status.loc[~graph, "seconds"].sum()), 2)
        res["findings"] = len(findings)
        res["self_approval_findings"] = int((findings["rule_id"] == "SELF_APPROVAL").sum())
        res["pending_matches"] = len(ctx.pending_matches)
        res["finding_rows"] = len(ctx.finding_rows)
        res["errors"] = status.loc[status["error"] != "", "rule_id"].tolist()
        res["slowest"] = status.sort_values("seconds", ascending=False).head(5)[["rule_id", "seconds"]].values.tolist()
    res["total_s"] = round(time.perf_counter() - t0, 2)
    ru = resource.getrusage(resource.RUSAGE_SELF)
    res["cpu_s"] = round(ru.ru_utime + ru.ru_stime, 2)  # less sensitive to a shared machine than wall time
    res["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    print(json.dumps(res, ensure_ascii=False))


def _run_child(mode: str, folder: Path) -> dict:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, __file__, "--child", mode, str(folder)], check=True,
                         capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["process_s"] = round(time.perf_counter() - t0, 2)
    return res


def bench(folder: Path) -> dict:
    bare = _run_child("bare", folder)
    full = _run_child("full", folder)
    return {"payout_rows": full["payout_rows"], "bare": bare, "full": full,
            "ratio_time": round(full["process_s"] / bare["process_s"], 2),
            "ratio_memory": round(full["peak_rss_mb"] / bare["peak_rss_mb"], 2)}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, action="append", help="1 = ~300k payout rows (default: 1 and 10)")
    ap.add_argument("--intake", help="folder of canonical <table>.parquet files (from `onecard intake`)")
    ap.add_argument("--self-approval-cases", type=int, default=0,
                    help="inject N self-approval cases (entitlement handled/approved by the beneficiary)")
    ap.add_argument("--repeat", type=int, default=1, help="time the full run N times (report each and the median)")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return
    if args.intake:
        print(json.dumps(bench(Path(args.intake)), ensure_ascii=False, indent=1))
        return
    for scale in args.scale or [1, 10]:
        with tempfile.TemporaryDirectory(prefix="onecard_bench_") as d:
            t0 = time.perf_counter()
            for name, t in generate(scale, self_approval_cases=args.self_approval_cases).items():
                t.to_parquet(Path(d) / f"{name}.parquet")
            gen = round(time.perf_counter() - t0, 2)
            runs = [bench(Path(d)) for _ in range(max(1, args.repeat))]
            stage = sorted(r["full"]["rules_s"] for r in runs)
            res = runs[-1]
            cpu = sorted(r["full"]["rules_cpu_s"] for r in runs)
            res.update(scale=scale, generate_s=gen, self_approval_cases=args.self_approval_cases,
                       rules_s_runs=[r["full"]["rules_s"] for r in runs], rules_s_median=stage[len(stage) // 2],
                       rules_cpu_s_runs=[r["full"]["rules_cpu_s"] for r in runs],
                       rules_cpu_s_median=cpu[len(cpu) // 2])
            print(json.dumps(res, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()

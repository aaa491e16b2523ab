"""Benchmark: network build + ring detection at demo scale, 10x, and 100,000+ persons.

Usage::

    .venv/bin/python bench/bench_graph.py            # n = 20,000 / 200,000 / 100,000 dense
    .venv/bin/python bench/bench_graph.py 1000 5000  # chosen sizes

Each size is run 3 times in a fresh child process; the median wall time and
median peak RSS (MB) are reported, with edge and ring counts. The generator
(:func:`synthetic_tables`, B24 in REAL_WORLD_CASES.md) makes ``n`` persons in
households of two, each with an ID, a card, a reserved phone (30% the
placeholder ``无``), an address from a shared pool and ``months`` payouts, and
plants ``rings`` rings of 3-6 persons from distinct households sharing one
account; ``extra_cards`` adds more registered cards per person (dense graphs).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd


def _ids(idx: np.ndarray) -> pd.Series:
    return pd.Series(np.char.add("4201141980", np.char.zfill(idx.astype(str), 8)), dtype="string")


def synthetic_tables(n: int, rings: int = 20, months: int = 3, extra_cards: int = 0,
                     seed: int = 0) -> tuple[dict, list[list[str]]]:
    """Canonical tables for ``n`` persons and the planted rings (lists of person ids)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n)
    pid = _ids(idx)
    hh = pd.Series(np.char.add("H", (idx // 2).astype(str)), dtype="string")
    acct = pd.Series(np.char.add("62170", np.char.zfill(idx.astype(str), 11)), dtype="string")
    phone = pd.Series(np.char.add("139", np.char.zfill(idx.astype(str), 8)), dtype="string")
    phone = phone.mask(rng.random(n) < 0.3, "无")
    addr = pd.Series(np.char.add("星光村", np.char.add(rng.integers(0, max(n // 3, 1), n).astype(str), "号")),
                     dtype="string")
    towns = np.array(["奓山街道", "蔡甸街道", "索河街道", "侏儒山街道"])
    town = pd.Series(towns[idx % len(towns)], dtype="string")
    # the second member of each household is paid into the first member's account (legit)
    pay_acct = acct.copy()
    odd = idx % 2 == 1
    pay_acct[odd] = acct.values[idx[odd] - 1]
    planted, used = [], set()
    starts = rng.choice(np.arange(0, n - 20, 20), size=min(rings, max(n // 20 - 1, 0)), replace=False)
    for r, s in enumerate(starts):
        size = 3 + r % 4
        members = [int(s) + 2 * k for k in range(size)]  # distinct households (step 2)
        ring_acct = f"6228{r:012d}"
        pay_acct[members] = ring_acct
        planted.append(sorted(pid.iloc[members + [m + 1 for m in members]]))  # + household partners
        used.update(members)
    roster = pd.DataFrame({"person_id": pid, "name": pd.Series(np.char.add("人", idx.astype(str)), dtype="string"),
                           "household_id": hh, "township": town, "village": "星光村", "address": addr,
                           "phone": phone, "grade": pd.array(np.ones(n, int), dtype="Int64")})
    k = np.repeat(idx, months)
    payouts = pd.DataFrame({"person_id": pid.iloc[k].values, "account_no": pay_acct.iloc[k].values,
                            "amount": pd.array(np.full(len(k), 20000), dtype="Int64"),
                            "period": pd.PeriodIndex([f"2021-{m % 12 + 1:02d}" for m in range(months)] * n,
                                                     freq="M")[np.argsort(np.argsort(k, kind="stable"))],
                            "status": "paid", "township": town.iloc[k].values, "subsidy": "困难残疾人生活补贴"})
    cards = [pd.DataFrame({"account_no": acct, "holder_id": pid, "phone": phone, "address": addr,
                           "opened_by": "经办员", "opened_on": pd.Timestamp("2020-01-01")})]
    for e in range(extra_cards):
        cards.append(pd.DataFrame({"account_no": pd.Series(np.char.add(f"6{e + 3}21", np.char.zfill(idx.astype(str), 12)),
                                                           dtype="string"),
                                   "holder_id": pid, "phone": phone, "address": addr}))
    cards = pd.concat(cards, ignore_index=True)
    tables = {"payouts": payouts, "roster": roster, "cards": cards}
    for name, df in tables.items():
        df["_file"], df["_sheet"], df["_row"] = f"{name}.csv", "", np.arange(2, len(df) + 2)
    return tables, planted


def _one(n: int, extra_cards: int) -> dict:
    import resource

    from onecard.graph import build_network
    tables, planted = synthetic_tables(n, extra_cards=extra_cards)
    t0 = time.perf_counter()
    net = build_network(tables, {"households": 3})
    t_rings = time.perf_counter() - t0
    g = net.graph
    t_all = time.perf_counter() - t0
    return {"n": n, "edges": g.number_of_edges(), "nodes": g.number_of_nodes(), "rings": len(net.rings),
            "planted": len(planted), "rings_s": t_rings, "total_s": t_all,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        print(json.dumps(_one(int(argv[1]), int(argv[2]))))
        return
    sizes = [(int(a), 0) for a in argv] or [(20_000, 0), (200_000, 0), (100_000, 4)]
    print(f"{'persons':>9} {'extra':>5} {'nodes':>9} {'edges':>9} {'rings':>5} {'rings s':>8} "
          f"{'+graph s':>8} {'peak MB':>8}")
    for n, extra in sizes:
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", str(n), str(extra)],
                                          capture_output=True, text=True, check=True).stdout)
                for _ in range(3)]
        med = {k: statistics.median(r[k] for r in runs) for k in ("rings_s", "total_s", "peak_mb")}
        r = runs[0]
        print(f"{n:>9,} {extra:>5} {r['nodes']:>9,} {r['edges']:>9,} {r['rings']:>5} "
              f"{med['rings_s']:>8.2f} {med['total_s']:>8.2f} {med['peak_mb']:>8.0f}")


if __name__ == "__main__":
    main(sys.argv[1:])

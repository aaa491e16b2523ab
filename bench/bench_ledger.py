"""Benchmark: ledger upsert of 20,000 findings and export of a district month.

Usage::

    PYTHONPATH=lib .venv/bin/python bench/bench_ledger.py          # 20,000 findings
    PYTHONPATH=lib .venv/bin/python bench/bench_ledger.py 5000

Each step runs in a fresh child process on a fresh temporary ledger; wall time
and the child's peak RSS (MB) are printed as JSON lines. Steps: first upsert
(all new, with 3 payout rows per finding), re-upsert of the same findings (all
seen again), a second run with 1 % changed evidence, the reads a run's reports
make (every finding's status, the since-last-run section, per-township counts),
and the monthly export (all 17 townships' 问题清单).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

TOWNS = ["蔡甸街道", "永安街道", "奓山街道", "侏儒山街道", "大集街道", "张湾街道", "索河街道", "玉贤街道",
         "消泗乡", "军山街道", "沌口街道", "沌阳街道", "桐湖", "中法武汉生态示范城", "蔡甸经济开发区",
         "侏儒山街道成功片区", "侏儒山街道洪北片区"]
RULES = ["PAID_AFTER_DEATH", "NOT_IN_ROSTER", "SHORT_PAYMENT", "MISSED_MONTH", "PAYEE_NOT_BENEFICIARY",
         "OVER_STANDARD", "ROSTER_STATUS_STALE", "FEE_DEDUCTED"]


def synthetic(n: int, changed: float = 0.0, seed: int = 0):
    from onecard.core.findings import FINDINGS_COLUMNS, finding_id
    rng = np.random.default_rng(seed)
    person = np.char.add("4201141960", np.char.zfill((np.arange(n) // 2).astype(str), 8))
    rule = np.array(RULES)[np.arange(n) % len(RULES)]
    start_m = rng.integers(0, 12, n)
    months = rng.integers(1, 12, n)
    amount = months * 10000
    bump = rng.random(n) < changed
    amount = np.where(bump, amount + 500, amount)
    start = pd.Series([f"2021-{m + 1:02d}" for m in start_m])
    end = pd.Series([f"{2021 + (m + k - 1) // 12}-{(m + k - 1) % 12 + 1:02d}" for m, k in zip(start_m, months)])
    f = pd.DataFrame({"rule_id": rule, "clause": "3.1.3", "severity": "high",
                      "township": np.array(TOWNS)[np.arange(n) % len(TOWNS)], "village": "某村",
                      "subject_type": "person", "subject_id": person, "related_ids": "", "name": "张三",
                      "subsidy": "重度残疾人护理补贴", "period_start": start, "period_end": end,
                      "months": months, "amount_fen": amount, "evidence": "说明", "run_id": "bench"})
    f["finding_id"] = [finding_id(r, s, "重度残疾人护理补贴", p) for r, s, p in zip(f["rule_id"], f["subject_id"], start)]
    rows = pd.DataFrame({"finding_id": np.repeat(f["finding_id"].to_numpy(), 3), "table": "payouts",
                         "_file": "发放.xlsx", "_sheet": "s", "_row": np.arange(3 * n) + 2,
                         "amount_fen": np.repeat(amount // 3, 3)})
    return f[FINDINGS_COLUMNS], rows


def step(name: str, path: str, n: int) -> dict:
    from onecard.ledger import export_report, open_ledger, upsert_run
    led = open_ledger(path)
    kw = {"period": ("2020-01", "2022-12"), "rule_status": pd.DataFrame({"rule_id": RULES, "checked": True}),
              "townships_with_data": TOWNS}
    t0 = time.perf_counter()
    result = {}
    if name == "upsert_new":
        f, rows = synthetic(n)
        t0 = time.perf_counter()
        result = upsert_run(led, f, run_id="r1", finding_rows=rows, **kw)
    elif name == "upsert_same":
        f, rows = synthetic(n)
        t0 = time.perf_counter()
        result = upsert_run(led, f, run_id="r2", finding_rows=rows, **kw)
    elif name == "upsert_1pct_changed":
        f, rows = synthetic(n, changed=0.01)
        t0 = time.perf_counter()
        result = upsert_run(led, f, run_id="r3", finding_rows=rows, **kw)
    elif name == "report_reads":  # what a run's reports read: statuses, since-last-run, per township
        from onecard.ledger.runview import since_last_run, statuses, township_counts
        f, _ = synthetic(n, changed=0.01)
        led.close()
        t0 = time.perf_counter()
        st = statuses(path, f["finding_id"])
        since = since_last_run(path, "r3")
        towns = township_counts(path, TOWNS)
        result = {"statuses": int(len(st)), "since": since["counts"], "townships": int(len(towns))}
    elif name == "export_month":
        out = Path(path).parent
        result = {"file_mb": round(export_report(led, out, month=time.strftime("%Y-%m")).stat().st_size / 1e6, 2)}
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step": name, "n": n, "seconds": round(wall, 2), "peak_rss_mb": round(peak, 1), **result}


def main(argv: list[str]) -> None:
    if argv and argv[0] == "--child":
        print(json.dumps(step(argv[1], argv[2], int(argv[3])), ensure_ascii=False))
        return
    n = int(argv[0]) if argv else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "ledger.sqlite")
        for name in ("upsert_new", "upsert_same", "upsert_1pct_changed", "report_reads", "export_month"):
            out = subprocess.run([sys.executable, __file__, "--child", name, path, str(n)],
                                 capture_output=True, text=True, check=True)
            print(out.stdout.strip())
        print(json.dumps({"ledger_mb": round(Path(path).stat().st_size / 1e6, 1)}))


if __name__ == "__main__":
    main(sys.argv[1:])

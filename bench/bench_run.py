"""Benchmark: whole-process `onecard run` on the default-scale demo district.

Usage: python bench/bench_run.py [--data DIR] [--repeat 3] [--scale 1] [--workers 2]

Generates the demo data once if --data is not given (outside the timing), then
times `python -m onecard.cli run` as a subprocess REPEAT times (each into a new
run folder) and reports the median wall time, the stage timings from each
manifest and the peak resident memory of the process tree (parent + kernels,
from getrusage of the children). Results are appended to bench/results/run.jsonl.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="onecard-bench-"))
    data = Path(args.data) if args.data else tmp / "data"
    if not args.data:
        subprocess.run([sys.executable, "-m", "onecard.cli", "synth", "--out", str(data),
                        "--scale", str(args.scale)], check=True, cwd=ROOT)
    walls, stages, peaks = [], [], []
    for i in range(args.repeat):
        out = tmp / f"run{i}"
        t0 = time.perf_counter()
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        subprocess.run([sys.executable, "-m", "onecard.cli", "run", "--data", str(data),
                        "--out", str(out), "--workers", str(args.workers), "--quiet"],
                       check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
        walls.append(time.perf_counter() - t0)
        peaks.append(max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024)
        stages.append(json.loads((out / "manifest.json").read_text(encoding="utf-8"))["timings"])
        payout_rows = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["intake"]["tables"].get("payouts")
    result = {
        "bench": "onecard run", "scale": args.scale, "workers": args.workers,
        "payout_rows": payout_rows, "repeat": args.repeat,
        "wall_s_median": round(statistics.median(walls), 1), "wall_s_all": [round(w, 1) for w in walls],
        "peak_rss_mb_max_single_process": round(max(peaks)),
        "stage_s_median": {k: round(statistics.median(s.get(k, 0) for s in stages), 2)
                           for k in stages[0]},
    }
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    with open(ROOT / "bench" / "results" / "run.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: render time of the township reports and of the district summary.

Usage::

    .venv/bin/python bench/bench_render.py RUNDIR [TOWNSHIP ...]

``RUNDIR`` is a finished ``onecard run`` folder (its analysis is reused; nothing in
it is changed: reports are written to a temporary folder). Without townships, the
three townships with the most findings are rendered. Each report is rendered
once after one warm-up render (fonts, templates, matplotlib); the wall time per
township report (HTML + PDF + findings.csv/.xlsx + graph exports, timelines and
ring drawings included) and for the district summary is printed as JSON lines
and appended to ``bench/results/render.jsonl``.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from onecard.report.render import render_district_summary, render_township_report
    from onecard.views.review import load_run

    if not argv:
        sys.stderr.write(__doc__)
        return 2
    run_dir = Path(argv[0])
    t0 = time.perf_counter()
    run = load_run(run_dir)
    load_s = time.perf_counter() - t0
    f = run.analysis.findings
    towns = argv[1:] or list(f["township"].value_counts().index[:3])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        render_township_report(run, towns[0], out / "warmup")
        for town in towns:
            t = time.perf_counter()
            render_township_report(run, town, out / town)
            results.append({"what": "township", "township": town, "findings": int((f["township"] == town).sum()),
                            "seconds": round(time.perf_counter() - t, 2)})
        t = time.perf_counter()
        render_district_summary(run, out)
        results.append({"what": "district", "findings": len(f), "townships": int(f["township"].nunique()),
                        "seconds": round(time.perf_counter() - t, 2)})
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
    results = [{"bench": "render", "at": stamp, "run": run_dir.name, "load_run_s": round(load_s, 2), **r}
               for r in results]
    with (Path(__file__).parent / "results" / "render.jsonl").open("a", encoding="utf-8") as fh:
        for r in results:
            line = json.dumps(r, ensure_ascii=False)
            fh.write(line + "\n")
            sys.stdout.write(line + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

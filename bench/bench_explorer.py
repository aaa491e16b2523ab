"""Benchmark: the case explorer on a finished run (issue 13: open < 2 s, search and
person view < 1 s, after the imports).

Usage::

    PYTHONPATH=lib .venv/bin/python -m onecard.cli synth --out /tmp/exp-data --scale 1
    PYTHONPATH=lib .venv/bin/python -m onecard.cli run --data /tmp/exp-data --out /tmp/exp-run --workers 2
    PYTHONPATH=lib .venv/bin/python bench/bench_explorer.py /tmp/exp-run

The run's network is read from its tables (``analysis/network/edges.parquet``,
``persons.parquet``). In a fresh child process: the imports, ``open_run``, building the
widgets app, searches (name, pinyin, initials, ID, account, phone), person views
(story + timeline chart + network drawing) of the holder of the largest pooled
account and of a few subjects, one expansion, and a "why linked" path. Each
operation is repeated 3 times; the first (cold) and the median are reported.
A JSON line is appended to ``bench/results/explorer.jsonl``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

CHILD = r"""
import json, statistics, sys, time
t0 = time.perf_counter()
import ipywidgets, matplotlib, pypinyin  # noqa: F401
from onecard.explorer import app as A, data as D, find as F, network as N, story as S
imports = time.perf_counter() - t0
run = sys.argv[1]
res = {"imports_s": round(imports, 2)}

def timed(name, fn, n=3):
    ts = []
    for _ in range(n):
        t = time.perf_counter(); out = fn(); ts.append(time.perf_counter() - t)
    res[name] = {"cold_s": round(ts[0], 3), "median_s": round(statistics.median(ts), 3)}
    return out

data = timed("open_run", lambda: D.open_run(run))
res["persons"], res["edges"], res["findings"] = len(data.persons), len(data.edges), len(data.findings)
app = timed("open_app", lambda: A.ExplorerApp(D.open_run(run)), n=1)
f = data.findings
pool = f[f["rule_id"] == "POOLED_ACCOUNT"].sort_values("amount_fen", ascending=False)
holder = A.persons_of_finding(data, pool.iloc[0])[0] if len(pool) else None
p = data.persons.set_index("person_id")
name = p.loc[holder, "name"] if holder else p["name"].dropna().iloc[0]
full, init = D.pinyin_forms(__import__("pandas").Series([name]))
acct = pool.iloc[0]["subject_id"] if len(pool) else ""
phones = data.edges[data.edges["kind"] == "reserved_phone"]["v"].str.slice(6)
queries = {"name": name, "pinyin": full[0], "initials": init[0], "id": holder or "", "id_tail": (holder or "")[-6:],
           "account": acct, "phone": phones.iloc[0] if len(phones) else ""}
for k, q in queries.items():
    sel = timed(f"search_{k}", lambda q=q: F.find(data, F.Filters(query=q)))
    res[f"search_{k}"]["results"] = len(sel[0])
timed("filter_township", lambda: F.find(data, F.Filters(township=f["township"].dropna().iloc[0], severity="high")))
subjects = f.loc[f["subject_type"] == "person", "subject_id"].drop_duplicates().head(3).tolist()
for i, pid in enumerate(([holder] if holder else []) + subjects):
    timed(f"person_view_{i}", lambda pid=pid: app.show_person(pid))
    res[f"person_view_{i}"]["findings"] = len(app.story.findings)
timed("story_only", lambda: S.person_story(data, subjects[0]))
if holder:
    app.show_person(holder)
    first = app.nb.nodes[1] if len(app.nb.nodes) > 1 else app.nb.centre
    timed("expand_one_hop", lambda: app.expand_once(first), n=1)
    res["neighbourhood_nodes"] = len(app.nb.nodes)
    timed("why_linked", lambda: app.show_path(app.nb.nodes[0], app.nb.nodes[-1]))
print(json.dumps(res, ensure_ascii=False))
"""


def ensure_tables(run: Path) -> float:
    """Make the network tables once (runs made before they were stored); seconds taken."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import sys; from onecard.explorer.data import load_network_tables;"
                    "from pathlib import Path; load_network_tables(Path(sys.argv[1]) / 'analysis')", str(run)],
                   check=True)
    return time.perf_counter() - t


def main(argv: list[str]) -> None:
    run = Path(argv[0] if argv else "/tmp/exp-run")
    prep = ensure_tables(run)
    out = subprocess.run([sys.executable, "-c", CHILD, str(run)], check=True, capture_output=True, text=True)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["prepare_tables_s"] = round(prep, 2)
    res["run"] = str(run)
    res["at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
    for k, v in res.items():
        sys.stdout.write(f"{k:22s} {v}\n")
    target = {k: v for k, v in res.items() if isinstance(v, dict)}
    worst_view = max((v["median_s"] for k, v in target.items() if k.startswith(("search", "person_view"))),
                     default=0)
    sys.stdout.write(f"open {res['open_run']['median_s']} s (target < 2), worst search/person view "
                     f"{worst_view} s (target < 1), median of 3\n")
    results = Path(__file__).parent / "results" / "explorer.jsonl"
    with open(results, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(res, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])

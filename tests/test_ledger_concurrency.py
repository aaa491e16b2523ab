"""Several writer processes at once, and a writer killed in the middle of a transaction."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time

import pandas as pd
import pytest
from onecard.ledger import open_ledger, set_status
from test_ledger_fixtures import finding, frame, pid, upsert

TOWNS = ["蔡甸街道", "永安街道", "奓山街道", "侏儒山街道"]
PER_TOWN = 40
ctx = mp.get_context("fork")


def town_findings(t: int, rounds: int) -> pd.DataFrame:
    rows = [finding(subject=pid(t * 1000 + i), township=TOWNS[t], amount=10000 + i) for i in range(PER_TOWN)]
    rows += [finding(rule="NOT_IN_ROSTER", subject=pid(t * 1000 + i), township=TOWNS[t]) for i in range(rounds)]
    return frame(*rows)


def township_writer(path, t, rounds):
    led = open_ledger(path)
    for r in range(rounds):
        upsert(led, town_findings(t, r + 1), run_id=f"run{r}", towns=[TOWNS[t]])
    led.close()


def decider(path, out_q, seconds):
    """An investigator recording decisions while the townships write."""
    led = open_ledger(path)
    done, end = 0, time.time() + seconds
    while time.time() < end:
        todo = led.frame("SELECT finding_id FROM items WHERE status = '待核实' LIMIT 5")["finding_id"]
        for fid in todo:
            done += len(set_status(led, fid, "核实中", by="张某", note="并发核实"))
        time.sleep(0.01)
    led.close()
    out_q.put(done)


def test_concurrent_writers_lose_and_duplicate_nothing(tmp_path):
    path = tmp_path / "ledger.sqlite"
    open_ledger(path).close()
    rounds = 4
    q = ctx.Queue()
    procs = [ctx.Process(target=township_writer, args=(path, t, rounds)) for t in range(len(TOWNS))]
    procs += [ctx.Process(target=township_writer, args=(path, 0, rounds))]     # the same township twice at once
    dec = ctx.Process(target=decider, args=(path, q, 4.0))
    for p in [*procs, dec]:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    decided = q.get(timeout=60)
    dec.join(60)
    led = open_ledger(path)
    assert led.integrity_ok()
    items = led.frame("SELECT * FROM items")
    assert len(items) == len(TOWNS) * (PER_TOWN + rounds)
    assert not items.duplicated(["rule_id", "subject_id", "subsidy", "period_start"]).any()
    assert len(led.frame("SELECT * FROM aliases")) == len(items)
    hist = led.frame("SELECT * FROM history")
    assert (hist["from_status"].isna()).sum() == len(items)                 # one creation each
    assert (hist["to_status"] == "核实中").sum() == decided > 0           # every decision kept
    assert (items["status"] == "核实中").sum() == decided
    led.close()


def killed_writer(path, n):
    """Upsert n findings but die (SIGKILL) after the items are inserted, before commit."""
    import onecard.ledger.upsert as up

    def die(*a, **k):
        os.kill(os.getpid(), signal.SIGKILL)
    up._flag_not_found = die
    led = open_ledger(path)
    upsert(led, frame(*[finding(subject=pid(5000 + i)) for i in range(n)]), run_id="doomed")


def looping_writer(path):
    led = open_ledger(path)
    for r in range(1000):
        upsert(led, frame(*[finding(subject=pid(r * 300 + i), amount=100 + i) for i in range(300)]),
               run_id=f"loop{r}")


def test_killed_mid_transaction_leaves_ledger_consistent(tmp_path):
    path = tmp_path / "ledger.sqlite"
    led = open_ledger(path)
    upsert(led, frame(finding()), run_id="before")
    led.close()
    p = ctx.Process(target=killed_writer, args=(path, 500))
    p.start()
    p.join(60)
    assert p.exitcode == -signal.SIGKILL
    led = open_ledger(path)
    assert led.integrity_ok()
    assert len(led.frame("SELECT * FROM items")) == 1
    assert led.frame("SELECT run_id FROM runs")["run_id"].tolist() == ["before"]
    assert upsert(led, frame(finding()), run_id="after")["seen_again"] == 1


@pytest.mark.parametrize("delay", [0.4, 0.9])
def test_killed_at_a_random_moment(tmp_path, delay):
    path = tmp_path / "ledger.sqlite"
    open_ledger(path).close()
    p = ctx.Process(target=looping_writer, args=(path,))
    p.start()
    time.sleep(delay)
    os.kill(p.pid, signal.SIGKILL)
    p.join(30)
    led = open_ledger(path)
    assert led.integrity_ok()
    n_items = len(led.frame("SELECT * FROM items"))
    n_runs = len(led.frame("SELECT * FROM runs"))
    assert n_items == 300 * n_runs                                   # whole runs only
    assert len(led.frame("SELECT * FROM aliases")) == n_items
    assert len(led.frame("SELECT * FROM history")) == n_items

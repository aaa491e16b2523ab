"""What a run's reports read from the ledger: statuses, the since-last-run section,
the per-township 疑点 / 问题 counts, an item's history.

Every function takes the ledger *path* (the run manifest's ``ledger.path``) and
opens it read-only; a missing file is no error (every finding is then 待核实 and
there is no history), so a public run or a run folder copied elsewhere still
renders.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from .store import Ledger
from .workflow import CLOSED, OPEN_STATUSES, PENDING, PROBLEM_STATUSES, REFERRAL_DONE, REJECTED, SUSPECT_STATUSES

__all__ = ["reading_ledger", "statuses", "since_last_run", "township_counts", "item_history", "SINCE_LABELS",
           "CLOSING_STATUSES"]

#: Statuses that end an item's handling (the "closed" of the since-last-run section).
CLOSING_STATUSES = (CLOSED, REFERRAL_DONE, REJECTED)
#: The since-last-run keys, in report order, with their Chinese labels.
SINCE_LABELS = {"new": "新发现", "still_open": "仍未办结", "closed": "上次运行以来已办结",
                "not_found": "本次未再发现"}
_LIST_COLUMNS = ["finding_id", "rule_id", "township", "name", "subject_id", "status", "amount_fen"]


@contextlib.contextmanager
def reading_ledger(ledger_path):
    """The ledger opened read-only, or None when there is no ledger file."""
    if not ledger_path or not Path(ledger_path).is_file():
        yield None
        return
    led = Ledger(ledger_path, readonly=True)
    try:
        yield led
    finally:
        led.close()


def statuses(ledger_path, finding_ids: pd.Series) -> pd.Series:
    """Ledger status per finding id, aliases included; ``待核实`` when absent.

    Parameters
    ----------
    ledger_path : path or None
    finding_ids : Series of str

    Returns
    -------
    Series of string, same index as ``finding_ids``.
    """
    out = pd.Series(PENDING, index=finding_ids.index, dtype="string")
    with reading_ledger(ledger_path) as led:
        if led is None:
            return out
        st = led.frame("SELECT a.finding_id, i.status FROM aliases a JOIN items i ON i.item_id = a.item_id "
                       "UNION SELECT finding_id, status FROM items")
    st = st.drop_duplicates("finding_id").set_index("finding_id")["status"]
    return finding_ids.astype("string").map(st).fillna(PENDING).astype("string")


def since_last_run(ledger_path, run_id: str, township: str | None = None) -> dict:
    """What is new, still open, closed and no longer found since the run before ``run_id``.

    Returns
    -------
    dict
        ``run_id``; ``previous`` (run id of the ledger's run before this one, or None:
        first run); ``counts`` ``{new, still_open, closed, not_found}`` (ints);
        ``lists`` ``{key: DataFrame[finding_id, rule_id, township, name, subject_id,
        status, amount_fen]}``. Empty counts when there is no ledger or the run is
        not in it (a public run that never wrote).

    Notes
    -----
    new: items first seen by this run; still open: seen again by this run, status
    待核实/核实中/属实/整改中; closed: items whose history reached 已整改销号, 移交办结
    or 不属实 between the previous run and this one; not found: the flag
    "本次未再发现（运行 X）" this run set. ``township`` limits everything to it.
    Meant for the run's own reports, right after its ledger stage: a later run moves
    ``last_run`` on, after which "still open" of an older run counts nothing.
    """
    empty = pd.DataFrame(columns=_LIST_COLUMNS)
    result = {"run_id": run_id, "previous": None, "counts": dict.fromkeys(SINCE_LABELS, 0),
              "lists": dict.fromkeys(SINCE_LABELS, empty), "in_ledger": False}
    with reading_ledger(ledger_path) as led:
        if led is None:
            return result
        runs = led.frame("SELECT run_id, at FROM runs ORDER BY at, run_id")
        if run_id not in set(runs["run_id"]):
            return result
        this_at = runs.loc[runs["run_id"] == run_id, "at"].iloc[0]
        before = runs[(runs["at"] <= this_at) & (runs["run_id"] != run_id)]
        previous = before["run_id"].iloc[-1] if len(before) else None
        prev_at = before["at"].iloc[-1] if len(before) else None
        items = led.frame("SELECT item_id, " + ", ".join(_LIST_COLUMNS)
                          + ", first_run, last_run, not_found_run FROM items")
        closed_ids = set()
        if previous is not None:
            closing = ", ".join("?" * len(CLOSING_STATUSES))
            closed_ids = set(led.frame(
                f"SELECT DISTINCT item_id FROM history WHERE to_status IN ({closing}) "
                "AND at >= ? AND at <= ? AND (run_id IS NULL OR run_id NOT IN (?, ?))",
                (*CLOSING_STATUSES, prev_at, this_at, previous, run_id))["item_id"])
    if township is not None:
        items = items[items["township"] == township]
    masks = {"new": items["first_run"] == run_id,
             "still_open": (items["last_run"] == run_id) & (items["first_run"] != run_id)
             & items["status"].isin(OPEN_STATUSES),
             "closed": items["item_id"].isin(closed_ids) & items["status"].isin(CLOSING_STATUSES),
             "not_found": items["not_found_run"] == run_id}
    lists = {k: items.loc[m.fillna(False).astype(bool), _LIST_COLUMNS].sort_values("finding_id")
             .reset_index(drop=True) for k, m in masks.items()}
    return {"run_id": run_id, "previous": previous, "in_ledger": True,
            "counts": {k: int(len(v)) for k, v in lists.items()}, "lists": lists}


def township_counts(ledger_path, townships: list[str] | None = None) -> pd.DataFrame:
    """Per township: 疑点 (items 待核实/核实中) and 问题 (cases from 属实 on), as the ledger stands.

    Returns
    -------
    DataFrame
        ``township, suspects, problems, closed, not_found`` (int64); one row per
        township of ``townships`` (zeros where the ledger has nothing), else per
        township in the ledger. Empty without a ledger.
    """
    cols = ["township", "suspects", "problems", "closed", "not_found"]
    with reading_ledger(ledger_path) as led:
        if led is None:
            return pd.DataFrame(columns=cols)
        items = led.frame("SELECT township, case_id, status, not_found_run FROM items")
    g = items.assign(
        suspects=items["status"].isin(SUSPECT_STATUSES),
        closed=items["status"].isin((CLOSED, REFERRAL_DONE)),
        not_found=items["not_found_run"].notna() & items["status"].isin(SUSPECT_STATUSES))
    out = g.groupby("township")[["suspects", "closed", "not_found"]].sum()
    problems = g[g["status"].isin(PROBLEM_STATUSES)].groupby("township")["case_id"].nunique()
    out["problems"] = problems.reindex(out.index).fillna(0)
    if townships is not None:
        out = out.reindex(list(townships)).fillna(0)
    out = out.astype("int64").rename_axis("township").reset_index()
    return out[cols]


def item_history(ledger_path, finding_id: str) -> pd.DataFrame | None:
    """The ledger history of the item a finding id (or alias) belongs to, oldest first:
    ``at, by, from_status, to_status, note, fields``; None without a ledger or item."""
    with reading_ledger(ledger_path) as led:
        if led is None:
            return None
        h = led.frame("SELECT h.at, h.by, h.from_status, h.to_status, h.note, h.fields FROM history h "
                      "WHERE h.item_id = (SELECT item_id FROM items WHERE finding_id = ? "
                      "UNION SELECT item_id FROM aliases WHERE finding_id = ? LIMIT 1) "
                      "ORDER BY h.history_id", (str(finding_id), str(finding_id)))
    return h if len(h) else None

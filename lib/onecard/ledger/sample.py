"""A reproducible field-check sample (抽查) of a township's paid beneficiaries.

Weighted by the severity and money of the person's open findings, with a share
drawn uniformly from paid beneficiaries with no finding at all (a check that
finds nothing there is information too). The seed and the members are recorded
in the ledger (table ``samples``), so the same draw can be shown later.
"""

from __future__ import annotations

import json
import secrets

import numpy as np
import pandas as pd

from .store import Ledger, LedgerError, now_text
from .workflow import REJECTED

SEVERITY_WEIGHT = {"high": 3.0, "medium": 2.0, "low": 1.0}
PAID_STATUSES = ("paid", "成功")
WITH, WITHOUT = "有疑点", "无疑点"


def _finding_weights(ledger: Ledger, township: str) -> pd.DataFrame:
    items = ledger.frame("SELECT subject_type, subject_id, related_ids, severity, amount_fen FROM items "
                         "WHERE township = ? AND status != ?", (township, REJECTED))
    people = items["subject_id"].where(items["subject_type"] == "person", items["related_ids"]).fillna("")
    items = items.assign(person_id=people.str.split(";")).explode("person_id")
    items = items[items["person_id"].fillna("") != ""]
    w = items["severity"].map(SEVERITY_WEIGHT).fillna(1.0) * (1 + np.log10(1 + items["amount_fen"].fillna(0) / 100))
    return items.assign(w=w).groupby("person_id").agg(weight=("w", "sum"), findings=("w", "size")).reset_index()


def draw_sample(ledger: Ledger, payouts: pd.DataFrame, *, township: str, n: int, seed: int | None = None,
                no_finding_share: float = 0.2, by: str | None = None) -> pd.DataFrame:
    """Draw and record the sample.

    Parameters
    ----------
    payouts : DataFrame
        ``person_id, township`` and optionally ``name, village, status`` (rows
        with a status other than paid/成功 are not "paid").
    n : int
        Sample size (people).
    seed : int, optional
        Recorded; a new random seed is chosen (and recorded) when None.
    no_finding_share : float
        Share of ``n`` drawn from paid people without any finding (0-1).

    Returns
    -------
    DataFrame
        ``person_id, name, village, group`` (有疑点 / 无疑点), ``weight``,
        ``findings``; ``attrs['seed']`` and ``attrs['sample_id']``.

    Raises
    ------
    LedgerError
        ``n`` < 1, share outside 0-1, or no paid beneficiary in the township.
    """
    if n < 1 or not 0 <= no_finding_share <= 1:
        raise LedgerError("抽样人数应不少于 1，无疑点比例应在 0 到 1 之间。")
    seed = int(seed) if seed is not None else secrets.randbelow(2**31)
    paid = payouts[payouts["township"] == township]
    if "status" in paid:
        paid = paid[paid["status"].isna() | paid["status"].isin(PAID_STATUSES)]
    cols = [c for c in ("person_id", "name", "village") if c in paid]
    people = paid[cols].dropna(subset=["person_id"]).drop_duplicates("person_id").sort_values("person_id")
    if people.empty:
        raise LedgerError(f"{township} 没有成功发放的补贴对象，无法抽样。")
    people = people.merge(_finding_weights(ledger, township), on="person_id", how="left")
    people["findings"] = people["findings"].fillna(0).astype(int)
    flagged, clean = people[people["findings"] > 0], people[people["findings"] == 0]
    rng = np.random.default_rng(seed)
    k_clean = min(len(clean), round(n * no_finding_share))
    k_flag = min(len(flagged), n - k_clean)
    k_clean = min(len(clean), n - k_flag)
    pick_flag = rng.choice(len(flagged), size=k_flag, replace=False,
                           p=(flagged["weight"] / flagged["weight"].sum()).to_numpy()) if k_flag else []
    pick_clean = rng.choice(len(clean), size=k_clean, replace=False) if k_clean else []
    out = pd.concat([flagged.iloc[np.sort(pick_flag)].assign(group=WITH),
                     clean.iloc[np.sort(pick_clean)].assign(group=WITHOUT, weight=0.0)], ignore_index=True)
    with ledger.write() as con:
        cur = con.execute("INSERT INTO samples (township, n, seed, no_finding_share, at, by, members) "
                          "VALUES (?,?,?,?,?,?,?)", (township, n, seed, no_finding_share, now_text(), by,
                                                     json.dumps(out["person_id"].tolist())))
    out.attrs.update(seed=seed, sample_id=cur.lastrowid)
    return out

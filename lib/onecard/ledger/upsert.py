"""A run's findings into the ledger: new items, items seen again, not found again.

:func:`upsert_run` is the whole step, in one ``BEGIN IMMEDIATE`` transaction, so
parallel township processes queue and never duplicate an item, and a killed
process leaves the ledger as it was before the call.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import pandas as pd

from ..core.findings import FINDINGS_COLUMNS
from .identity import (
    FINGERPRINT,
    describe_changes,
    evidence_changes,
    match_findings,
    month_index,
    normalise_related,
)
from .store import Ledger, LedgerError, now_text
from .workflow import PENDING, REJECTED, apply_change

_ITEM_DATA = ["rule_id", "clause", "severity", "township", "village", "subject_type", "subject_id",
              "related_ids", "name", "subsidy", "period_start", "period_end", "months", "amount_fen",
              "evidence"]


def case_key(subject_type: pd.Series, subject_id: pd.Series, household: pd.Series | None = None) -> pd.Series:
    """Case (问题) id: ``household:H`` where a household is known, else ``<type>:<subject>``."""
    key = subject_type.astype("string").fillna("unknown") + ":" + subject_id.astype("string").fillna("")
    if household is not None:
        hh = household.astype("string")
        key = ("household:" + hh).where(hh.notna() & (hh != "") & (subject_type == "person"), key)
    return key


def _clean(findings: pd.DataFrame, run_id: str) -> pd.DataFrame:
    missing = [c for c in ("finding_id", "rule_id", "subject_type", "subject_id") if c not in findings]
    if missing:
        raise LedgerError(f"疑点表缺少列：{'、'.join(missing)}；应有的列：{'、'.join(FINDINGS_COLUMNS)}")
    f = findings.copy()
    for c in FINDINGS_COLUMNS:
        if c not in f:
            f[c] = pd.NA
    f = f[FINDINGS_COLUMNS].copy()
    for c in FINDINGS_COLUMNS:
        if c not in ("months", "amount_fen"):
            f[c] = f[c].astype("string")
    f["months"] = pd.to_numeric(f["months"], errors="coerce").astype("Int64")
    f["amount_fen"] = pd.to_numeric(f["amount_fen"], errors="coerce").fillna(0).astype("int64")
    f["related_ids"] = normalise_related(f["related_ids"])
    f["run_id"] = run_id
    if f["finding_id"].duplicated().any():
        dup = f.loc[f["finding_id"].duplicated(), "finding_id"].iloc[0]
        raise LedgerError(f"疑点编号重复：{dup}（同一次运行的疑点编号应唯一）。")
    return f.reset_index(drop=True)


def _py(v):
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    return v.item() if hasattr(v, "item") else v


def upsert_run(ledger: Ledger, findings: pd.DataFrame, *, run_id: str, period: tuple[str, str],
               rule_status: pd.DataFrame | None, townships_with_data: Iterable[str],
               finding_rows: pd.DataFrame | None = None, households: Mapping | pd.Series | None = None,
               at: str | None = None) -> dict:
    """Bring a run's findings into the ledger.

    Parameters
    ----------
    findings : DataFrame
        Standard findings columns (``lib/onecard/findings.py``), money in fen.
    run_id : str
    period : (str, str)
        The run's review period, ``('YYYY-MM', 'YYYY-MM')`` inclusive.
    rule_status : DataFrame or None
        ``rule_id, checked`` (bool). A rule not listed, or not checked, never
        sets "本次未再发现".
    townships_with_data : iterable of str
        Townships whose data this run had; only their items can be "not found
        again". Parallel township processes each pass their own township.
    finding_rows : DataFrame, optional
        ``finding_id, table, _file, _sheet, _row, amount_fen``; replaces the
        stored source rows of every finding given.
    households : mapping person_id -> household id, optional
        Groups a household's person findings into one case.

    Returns
    -------
    dict
        ``new``, ``seen_again``, ``not_found_again``, ``reopened`` (不属实 →
        待核实 because the evidence changed), ``evidence_changed``: counts.

    Raises
    ------
    LedgerError
        Missing columns or duplicate finding ids.

    Notes
    -----
    A run never closes an item and never changes a decision. An item seen
    again keeps status, fields and version and gets ``last_run``; only a
    change of months, money or related ids bumps its version and writes history.
    """
    at = at or now_text()
    f = _clean(findings, run_id)
    by = f"核查运行 {run_id}"
    townships = sorted({str(t) for t in townships_with_data})
    checked = set()
    if rule_status is not None and len(rule_status):
        checked = set(rule_status.loc[rule_status["checked"].fillna(False).astype(bool), "rule_id"].astype(str))
    if households is not None:
        hh = pd.Series(households) if not isinstance(households, pd.Series) else households
        f["_household"] = f["subject_id"].map(hh)
    else:
        f["_household"] = pd.NA
    counts = {"new": 0, "seen_again": 0, "not_found_again": 0, "reopened": 0, "evidence_changed": 0}
    with ledger.write() as con:
        items = ledger.frame("SELECT * FROM items WHERE kind = 'finding'")
        aliases = ledger.frame("SELECT finding_id, item_id FROM aliases")
        matched = match_findings(f, items, aliases)
        f["item_id"] = matched
        old = items.set_index("item_id")
        seen = f[f["item_id"].notna()]
        new = f[f["item_id"].isna()]
        # seen again: compare fingerprints vectorised, loop only over the changed few
        known_alias = set(aliases["finding_id"])
        alias_rows = [(fid, int(i), run_id, at) for fid, i in zip(seen["finding_id"], seen["item_id"])
                      if fid not in known_alias]
        changed = _fingerprint_differs(seen, old)
        for rec in seen[changed].to_dict("records"):
            item_id = int(rec["item_id"])
            item = {**old.loc[item_id].to_dict(), "item_id": item_id}
            changes = evidence_changes(item, rec)
            extra = {k: _py(v[1]) for k, v in changes.items()}
            extra["evidence"] = _py(rec["evidence"])
            reopen = item["status"] == REJECTED
            apply_change(con, item, PENDING if reopen else None, {}, by=by, note=describe_changes(changes),
                         run_id=run_id, at=at, by_run=True, extra_changes=extra)
            counts["reopened" if reopen else "evidence_changed"] += 1
        plain = [(run_id, int(i)) for i in seen["item_id"]]
        con.executemany("UPDATE items SET last_run = ?, not_found_run = NULL WHERE item_id = ?", plain)
        counts["seen_again"] = len(plain)
        # new items
        if len(new):
            new = new.assign(case_id=case_key(new["subject_type"], new["subject_id"], new["_household"]))
            cases = new.drop_duplicates("case_id")
            con.executemany("INSERT OR IGNORE INTO cases VALUES (?,?,?,?,?)",
                            [(c, c.split(":", 1)[0], c.split(":", 1)[1], _py(t), at)
                             for c, t in zip(cases["case_id"], cases["township"])])
            cols = ["finding_id", "case_id", *_ITEM_DATA]
            rows = [tuple(_py(v) for v in r) for r in new[cols].itertuples(index=False, name=None)]
            con.executemany(
                f"INSERT INTO items (kind, {', '.join(cols)}, status, first_run, last_run, created_at, updated_at) "
                f"VALUES ('finding', {', '.join('?' * len(cols))}, '{PENDING}', '{run_id}', '{run_id}', '{at}', '{at}')",
                rows)
            ids = dict(con.execute("SELECT finding_id, item_id FROM items WHERE first_run = ? AND created_at = ?",
                                   (run_id, at)).fetchall())
            new = new.assign(item_id=new["finding_id"].map(ids).astype("Int64"))
            alias_rows += [(fid, int(i), run_id, at) for fid, i in zip(new["finding_id"], new["item_id"])]
            con.executemany("INSERT INTO history (item_id, at, by, run_id, from_status, to_status, note) "
                            "VALUES (?,?,?,?,NULL,?,?)",
                            [(int(i), at, by, run_id, PENDING, "核查运行新发现") for i in new["item_id"]])
            counts["new"] = len(new)
        con.executemany("INSERT INTO aliases VALUES (?,?,?,?)", alias_rows)
        # not found again
        counts["not_found_again"] = _flag_not_found(con, items, set(f["item_id"].dropna().astype(int)),
                                                    run_id, period, checked, townships)
        if finding_rows is not None and len(finding_rows):
            _store_rows(con, pd.concat([seen, new])[["finding_id", "item_id"]], finding_rows)
        _record_run(con, run_id, period, townships, counts, at)
    return counts


def _fingerprint_differs(seen: pd.DataFrame, old: pd.DataFrame) -> pd.Series:
    """True where a seen finding's months, money or related ids differ from its item's."""
    prev = old.reindex(seen["item_id"].astype(int).to_numpy())
    differs = pd.Series(False, index=seen.index)
    for col in FINGERPRINT:
        a = seen[col].astype("string").fillna("").replace("<NA>", "")
        b = pd.Series(prev[col].to_numpy(), index=seen.index)
        if col in ("months", "amount_fen"):
            a = pd.to_numeric(seen[col], errors="coerce").astype("Int64").astype("string").fillna("")
            b = pd.to_numeric(b, errors="coerce").astype("Int64").astype("string").fillna("")
        else:
            b = b.astype("string").fillna("")
        differs |= (a != b).fillna(True).to_numpy()
    return differs


def _flag_not_found(con, items: pd.DataFrame, found: set, run_id: str, period, checked: set,
                    townships: list) -> int:
    if items.empty:
        return 0
    start, end = month_index(pd.Series(list(period), dtype="string")).tolist()
    covered = (month_index(items["period_start"]) >= start) & (month_index(items["period_end"]) <= end)
    eligible = (~items["item_id"].isin(found) & items["rule_id"].isin(checked)
                & items["township"].isin(townships) & covered.fillna(False)
                & (items["not_found_run"].fillna("") != run_id))
    ids = items.loc[eligible, "item_id"].astype(int).tolist()
    con.executemany("UPDATE items SET not_found_run = ? WHERE item_id = ?", [(run_id, i) for i in ids])
    return len(ids)


def _store_rows(con, id_map: pd.DataFrame, finding_rows: pd.DataFrame) -> None:
    rows = finding_rows.merge(id_map, on="finding_id", how="inner")
    if rows.empty:
        return
    con.executemany("DELETE FROM item_rows WHERE item_id = ?", [(int(i),) for i in rows["item_id"].unique()])
    amount = pd.to_numeric(rows["amount_fen"], errors="coerce").astype("Int64")
    data = zip(rows["item_id"].astype(int), rows["table"].astype(str), rows["_file"], rows["_sheet"],
               pd.to_numeric(rows["_row"], errors="coerce").astype("Int64"), amount)
    con.executemany("INSERT INTO item_rows VALUES (?,?,?,?,?,?)",
                    [tuple(_py(v) for v in r) for r in data])


def _record_run(con, run_id, period, townships, counts, at) -> None:
    row = con.execute("SELECT townships, counts FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row:
        towns = sorted(set(json.loads(row[0])) | set(townships))
        prev = json.loads(row[1])
        counts = {k: prev.get(k, 0) + v for k, v in counts.items()}
        con.execute("UPDATE runs SET townships = ?, counts = ? WHERE run_id = ?",
                    (json.dumps(towns, ensure_ascii=False), json.dumps(counts), run_id))
    else:
        con.execute("INSERT INTO runs VALUES (?,?,?,?,?,?)",
                    (run_id, period[0], period[1], at, json.dumps(townships, ensure_ascii=False),
                     json.dumps(counts)))

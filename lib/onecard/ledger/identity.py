"""Which ledger item a finding of a new run *is*.

Rules, in order (issue 11, "Identity across runs"):

1. its ``finding_id`` is already an item's id or alias;
2. not a ring: the item with the same ``rule_id``, ``subject_id`` and ``subsidy``
   whose months overlap the finding's months (the largest overlap wins), so a
   longer ``--period`` or a new month, which change ``period_start`` and hence the
   id, does not orphan a decision;
3. a ring (``subject_type == 'ring'``): the ring item of the same rule whose
   members overlap the finding's most, when ``|A ∩ B| / max(|A|, |B|) >= 0.5``.

Each item is matched by at most one finding of a run. Evidence is compared on
:data:`FINGERPRINT` (months, money, related ids), never on the sentence.
"""

from __future__ import annotations

import pandas as pd

from ..core.findings import yuan

FINGERPRINT = ("period_start", "period_end", "months", "amount_fen", "related_ids")
RING_OVERLAP = 0.5
_LABELS = {"period_start": "起始月", "period_end": "终止月", "months": "月数", "amount_fen": "金额(分)",
           "related_ids": "关联对象"}


def month_index(text: pd.Series) -> pd.Series:
    """``YYYY-MM`` text -> months since year 0 (nullable Int64)."""
    s = text.astype("string")
    year = pd.to_numeric(s.str[:4], errors="coerce")
    month = pd.to_numeric(s.str[5:7], errors="coerce")
    return (year * 12 + month - 1).astype("Int64")


def normalise_related(values: pd.Series) -> pd.Series:
    """Related ids as a sorted, de-duplicated ``;`` list (blank -> ``""``)."""
    s = values.astype("string").fillna("")
    return s.map(lambda v: ";".join(sorted({p for p in v.split(";") if p})) if v else "").astype("string")


def match_findings(findings: pd.DataFrame, items: pd.DataFrame, aliases: pd.DataFrame) -> pd.Series:
    """The ``item_id`` each finding is (nullable Int64, aligned on ``findings.index``).

    Parameters
    ----------
    findings : DataFrame
        Standard findings columns; ``related_ids`` normalised.
    items : DataFrame
        Existing data-finding items: ``item_id, rule_id, subject_type, subject_id,
        subsidy, period_start, period_end, related_ids``.
    aliases : DataFrame
        ``finding_id, item_id``.
    """
    out = pd.Series(pd.NA, index=findings.index, dtype="Int64")
    if findings.empty or items.empty:
        return out
    by_alias = findings[["finding_id"]].reset_index().merge(aliases, on="finding_id", how="inner")
    out.loc[by_alias["index"].to_numpy()] = by_alias["item_id"].to_numpy()
    taken = set(out.dropna().astype(int))
    # 2. same rule, subject, subsidy, months overlap
    rest = findings[out.isna() & (findings["subject_type"] != "ring")]
    if not rest.empty:
        left = rest.assign(_s=month_index(rest["period_start"]), _e=month_index(rest["period_end"]),
                           _sub=rest["subsidy"].fillna("")).reset_index()
        free = items[~items["item_id"].isin(taken) & (items["subject_type"] != "ring")]
        right = free.assign(_is=month_index(free["period_start"]), _ie=month_index(free["period_end"]),
                            _sub=free["subsidy"].fillna(""))[["item_id", "rule_id", "subject_id", "_sub", "_is", "_ie"]]
        pairs = left[["index", "rule_id", "subject_id", "_sub", "_s", "_e"]].merge(
            right, on=["rule_id", "subject_id", "_sub"], how="inner")
        overlap = (pairs[["_e", "_ie"]].min(axis=1) - pairs[["_s", "_is"]].max(axis=1) + 1)
        pairs = pairs.assign(_ov=overlap.fillna(0))[lambda p: p["_ov"] > 0]
        pairs = pairs.sort_values(["_ov", "item_id"], ascending=[False, True])
        pairs = pairs.drop_duplicates("index").drop_duplicates("item_id")
        out.loc[pairs["index"].to_numpy()] = pairs["item_id"].to_numpy()
        taken |= set(pairs["item_id"].astype(int))
    # 3. rings by member overlap (rings are few: a loop is fine)
    rings = findings[out.isna() & (findings["subject_type"] == "ring")]
    ring_items = items[(items["subject_type"] == "ring") & ~items["item_id"].isin(taken)]
    members = {int(i): (r, set(filter(None, str(m or "").split(";"))))
               for i, r, m in zip(ring_items["item_id"], ring_items["rule_id"], ring_items["related_ids"])}
    for idx, rule, rel in zip(rings.index, rings["rule_id"], rings["related_ids"]):
        mine = set(filter(None, str(rel or "").split(";")))
        best, best_score = None, 0.0
        for item_id, (irule, theirs) in members.items():
            if irule != rule or not mine or not theirs:
                continue
            score = len(mine & theirs) / max(len(mine), len(theirs))
            if score > best_score or (score == best_score and best is not None and item_id < best):
                best, best_score = item_id, score
        if best is not None and best_score >= RING_OVERLAP:
            out.loc[idx] = best
            members.pop(best)
    return out


def evidence_changes(old: pd.Series | dict, new: pd.Series | dict) -> dict:
    """``{field: [old, new]}`` for the :data:`FINGERPRINT` fields that differ."""
    changes = {}
    for f in FINGERPRINT:
        a, b = old.get(f), new.get(f)
        a = None if a is None or (not isinstance(a, str) and pd.isna(a)) or a == "" else a
        b = None if b is None or (not isinstance(b, str) and pd.isna(b)) or b == "" else b
        if f in ("months", "amount_fen"):
            a = None if a is None else int(a)
            b = None if b is None else int(b)
        if a != b:
            changes[f] = [a, b]
    return changes


def describe_changes(changes: dict) -> str:
    """Chinese sentence saying what changed in the evidence."""
    parts = []
    for f, (a, b) in changes.items():
        if f == "amount_fen":
            parts.append(f"金额 {_yuan(a)} → {_yuan(b)} 元")
        elif f == "related_ids":
            old, new = set(filter(None, (a or "").split(";"))), set(filter(None, (b or "").split(";")))
            parts.append(f"关联对象 新增{len(new - old)}个、减少{len(old - new)}个")
        else:
            parts.append(f"{_LABELS[f]} {a if a is not None else '无'} → {b if b is not None else '无'}")
    return "证据变化：" + "；".join(parts)


def _yuan(fen) -> str:
    return "无" if fen is None else yuan(fen)

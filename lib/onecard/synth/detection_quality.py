"""Score a run's findings against the demo generator's ground truth.

Matching (issue "district review runs end to end"):

- a finding matches a truth row on ``rule_id``, ``subject_id`` and ``subsidy``;
  a blank truth ``subsidy`` matches any;
- a ring (``subject_type == "ring"``) matches a truth ring when its members
  (``related_ids``) cover at least 75% of the truth ring's members.

A truth row is found (TP) when some finding matches it; a finding is a false
positive (FP) when it matches no truth row. ``decoy_hits`` counts findings on a
decoy subject (``decoys.csv``) that match no truth row.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.errors import InputFileError

RING_COVERAGE = 0.75


def _read(path: Path) -> pd.DataFrame:
    if not path.exists():
        raise InputFileError(f"找不到文件：{path}")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _members(text: str) -> set[str]:
    return {m for m in str(text).split(";") if m}


def score(findings: pd.DataFrame, truth: pd.DataFrame, decoys: pd.DataFrame | None = None):
    """Per-rule detection quality.

    Parameters
    ----------
    findings, truth : DataFrame
        Text frames with at least ``rule_id, subject_type, subject_id, related_ids, subsidy``.
    decoys : DataFrame, optional
        ``kind, subject_type, subject_id``.

    Returns
    -------
    table : DataFrame
        ``rule_id, truth, found, TP, FN, FP, matched, recall, precision``: TP and FN
        count truth rows (found / missed), FP and ``matched`` count findings
        (``found = matched + FP``; one truth row may be matched by several findings,
        e.g. one per subsidy). Recall NA without truth rows, precision NA without findings.
    decoy_hits : int
    matched : Series of bool
        Aligned with ``findings``: the finding matches a truth row.
    """
    f = findings.astype("string").fillna("").astype(str).reset_index(drop=True)
    t = truth.astype("string").fillna("").astype(str).reset_index(drop=True)
    f_ok = pd.Series(False, index=f.index)
    t_ok = pd.Series(False, index=t.index)

    plain_t = t[t["subject_type"] != "ring"]
    plain_f = f[f["subject_type"] != "ring"]
    pairs = plain_f.reset_index().merge(plain_t.reset_index(), on=["rule_id", "subject_id"],
                                        suffixes=("_f", "_t"))
    pairs = pairs[(pairs["subsidy_t"] == "") | (pairs["subsidy_t"] == pairs["subsidy_f"])]
    f_ok[pairs["index_f"].unique()] = True
    t_ok[pairs["index_t"].unique()] = True

    ring_t = t[t["subject_type"] == "ring"]
    ring_f = f[f["subject_type"] == "ring"]
    for ti, trow in ring_t.iterrows():  # rings are few: a loop over rings, not payouts
        want = _members(trow["related_ids"])
        for fi, frow in ring_f[ring_f["rule_id"] == trow["rule_id"]].iterrows():
            got = _members(frow["related_ids"])
            if want and len(want & got) / len(want) >= RING_COVERAGE:
                t_ok[ti] = True
                f_ok[fi] = True

    rules = sorted(set(t["rule_id"]) | set(f["rule_id"]))
    rows = []
    for rid in rules:
        tr, fr = t_ok[t["rule_id"] == rid], f_ok[f["rule_id"] == rid]
        tp, fp = int(tr.sum()), int((~fr).sum())
        rows.append({"rule_id": rid, "truth": len(tr), "found": len(fr), "TP": tp,
                     "FN": len(tr) - tp, "FP": fp, "matched": len(fr) - fp,
                     "recall": round(tp / len(tr), 4) if len(tr) else pd.NA,
                     "precision": round((len(fr) - fp) / len(fr), 4) if len(fr) else pd.NA})
    decoy_hits = 0
    if decoys is not None and len(decoys):
        d = decoys.fillna("").astype(str)
        on_decoy = f["subject_id"].isin(set(d["subject_id"]))
        decoy_hits = int((on_decoy & ~f_ok).sum())
    return pd.DataFrame(rows), decoy_hits, f_ok


def score_files(findings_csv: Path, truth_dir: Path):
    """:func:`score` on ``findings.csv`` and ``truth_dir/{truth,decoys}.csv``."""
    truth_dir = Path(truth_dir)
    decoys = _read(truth_dir / "decoys.csv") if (truth_dir / "decoys.csv").exists() else None
    return score(_read(Path(findings_csv)), _read(truth_dir / "truth.csv"), decoys)


def summary_line(table: pd.DataFrame, decoy_hits: int) -> str:
    """The last line ``min_recall=… min_precision=… decoy_hits=…``."""
    rec = pd.to_numeric(table["recall"], errors="coerce").dropna()
    pre = pd.to_numeric(table["precision"], errors="coerce").dropna()
    fmt = lambda s: f"{s.min():.4f}" if len(s) else "nan"  # noqa: E731
    return f"min_recall={fmt(rec)} min_precision={fmt(pre)} decoy_hits={decoy_hits}"

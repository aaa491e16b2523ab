"""The district summary as a league table (issue 12 item 6).

- :func:`league_table`: townships ranked by findings per 1,000 beneficiaries (ties:
  over-paid money per 1,000), with the three money categories (never their sum)
  and a 合计 row;
- :func:`spot_check_targets`: townships to spot-check first, each with the reason
  (self-reported vs. found) — from the ledger's submissions when a ledger is
  given, else from the township parameters (``自查上报问题数`` in the metrics);
- :func:`typical_cases`: the district's 典型问题, the top finding (severity, then
  money) of each rule family (the catalogue module of the rule: 停发类, 金额类 …);
- :func:`top_rings`: the best-scored rings.

Money is integer fen in every frame; the templates show 元.
"""

from __future__ import annotations

import pandas as pd

from ..ledger.money import CATEGORIES
from .money import RunMoney

__all__ = ["league_table", "spot_check_targets", "typical_cases", "top_rings", "LEAGUE_MONEY"]

#: Money columns of the league table: category -> (amount column, per-1,000 column).
LEAGUE_MONEY = {c: (f"{c}_fen", f"{c}_per_1000_fen") for c in CATEGORIES}
SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}
TOTAL = "合计"


def league_table(metrics: pd.DataFrame, money: RunMoney, findings: pd.DataFrame) -> pd.DataFrame:
    """One row per township, ranked, plus a 合计 row.

    Parameters
    ----------
    metrics : DataFrame
        ``analysis.metrics`` (``街道（乡镇）, 享受人数``); townships with findings but
        no metrics row still appear (beneficiaries 0).
    money : RunMoney
        The district's :func:`onecard.views.money.run_money`.
    findings : DataFrame
        All findings (``township``).

    Returns
    -------
    DataFrame
        ``rank`` (Int64; blank on 合计 and for townships with no beneficiaries),
        ``township, beneficiaries, findings, findings_per_1000`` (float, 1 decimal),
        and per category ``<category>_fen`` and ``<category>_per_1000_fen`` (int fen).
    """
    counts = findings.groupby(findings["township"].fillna("（未知）")).size()
    towns = sorted(set(metrics.get("街道（乡镇）", pd.Series(dtype=str)).dropna()) | set(counts.index))
    out = pd.DataFrame({"township": towns})
    benef = (metrics.set_index("街道（乡镇）")["享受人数"] if "享受人数" in metrics else pd.Series(dtype="Int64"))
    out["beneficiaries"] = benef.reindex(towns).fillna(0).astype("int64").to_numpy()
    out["findings"] = counts.reindex(towns).fillna(0).astype("int64").to_numpy()
    wide = money.by_township.set_index("township")
    for cat, (amount, _) in LEAGUE_MONEY.items():
        col = wide[cat] if cat in wide else pd.Series(dtype="int64")
        out[amount] = col.reindex(towns).fillna(0).astype("int64").to_numpy()
    total = out.drop(columns="township").sum().to_frame().T.assign(township=TOTAL)[out.columns]
    out = pd.concat([out, total], ignore_index=True)
    per = out["beneficiaries"].where(out["beneficiaries"] > 0)
    out["findings_per_1000"] = (out["findings"] / per * 1000).round(1)
    for amount, per_col in LEAGUE_MONEY.values():
        out[per_col] = (out[amount] / per * 1000).round(0).astype("Int64")
    body, total = out.iloc[:-1], out.iloc[[-1]]
    first = LEAGUE_MONEY[CATEGORIES[0]][1]
    body = body.sort_values(["findings_per_1000", first, "township"], ascending=[False, False, True],
                            na_position="last", kind="stable")
    ranked = body["findings_per_1000"].notna()
    rank = pd.Series(pd.NA, index=body.index, dtype="Int64")
    rank[ranked] = range(1, int(ranked.sum()) + 1)
    body = body.assign(rank=rank)
    out = pd.concat([body, total.assign(rank=pd.array([pd.NA], dtype="Int64"))], ignore_index=True)
    cols = ["rank", "township", "beneficiaries", "findings", "findings_per_1000"]
    return out[cols + [c for pair in LEAGUE_MONEY.values() for c in pair]]


def spot_check_targets(league: pd.DataFrame, *, reported: pd.Series, threshold: int, source: str
                       ) -> pd.DataFrame:
    """Townships to spot-check first, with the reason.

    Parameters
    ----------
    league : DataFrame
        From :func:`league_table`.
    reported : Series
        Township -> self-reported problem count (Int64; NA = not reported).
    threshold : int
        Fewer reported problems than this makes a target (``few_reported_threshold``).
    source : str
        Where the counts come from (shown with the reason), e.g. ``问题台账报送记录``.

    Returns
    -------
    DataFrame
        ``township, reported`` (Int64), ``findings``, ``findings_per_1000``, ``reason``
        (Chinese), for targets only: not reported, zero reported, fewer than
        ``threshold``, or reported fewer than this run found; most findings first.
    """
    body = league[league["township"] != TOTAL]
    n = reported.reindex(body["township"]).astype("Int64").to_numpy()
    n = pd.Series(n, index=body.index, dtype="Int64")
    found = body["findings"]
    reason = pd.Series("", index=body.index, dtype=object)
    missing, zero = n.isna(), n.eq(0).fillna(False)
    few = n.lt(threshold).fillna(False) & ~zero
    under = n.lt(found).fillna(False) & ~zero & ~few
    reason[under] = ("自查上报 " + n[under].astype(str) + " 条，本次核查发现疑点 " + found[under].astype(str)
                     + " 条，上报少于发现")
    reason[few] = ("自查上报仅 " + n[few].astype(str) + f" 条（少于 {threshold} 条），本次核查发现疑点 "
                   + found[few].astype(str) + " 条")
    reason[zero] = "零报送：自查上报 0 条，本次核查发现疑点 " + found[zero].astype(str) + " 条"
    reason[missing] = "未报送自查结果，本次核查发现疑点 " + found[missing].astype(str) + " 条"
    keep = reason != ""
    out = pd.DataFrame({"township": body["township"], "reported": n, "findings": found,
                        "findings_per_1000": body["findings_per_1000"],
                        "reason": reason.astype(str) + f"（来源：{source}）"})[keep]
    return out.sort_values(["findings", "township"], ascending=[False, True], kind="stable").reset_index(drop=True)


def rule_families() -> dict[str, str]:
    """rule_id -> rule family: the catalogue module the rule lives in (``stops``,
    ``amounts``, ``eligibility``, ``accounts``, ``payments``, ``network`` …;
    ``network_people`` counts as ``network``)."""
    from ..rules.catalogue import CATALOGUE, _ensure_loaded

    _ensure_loaded()
    return {rid: r.func.__module__.rsplit(".", 1)[-1].replace("network_people", "network")
            for rid, r in CATALOGUE.items()}


def typical_cases(findings: pd.DataFrame, n: int = 10, families: dict[str, str] | None = None) -> pd.DataFrame:
    """典型问题: per rule family the top finding by severity then money, at most ``n``.

    ``families`` maps rule_id -> family (default :func:`rule_families`); a rule not
    in it falls back to its clause's first two levels (``3.1.3`` -> ``3.1``). The
    families are listed by their top finding (severity, money). Returns the
    findings' own columns plus ``family``.
    """
    if findings.empty:
        return findings.assign(family=pd.Series(dtype=str))
    families = rule_families() if families is None else families
    clause = findings["clause"].astype("string").str.split(".").str[:2].str.join(".").astype("string").fillna("其他")
    fam = findings["rule_id"].map(families).astype("string").fillna(clause.astype("string"))
    f = findings.assign(family=fam, _o=findings["severity"].map(SEVERITY_ORDER).fillna(3),
                        _a=-pd.to_numeric(findings["amount_fen"], errors="coerce").fillna(0))
    f = f.sort_values(["_o", "_a", "rule_id", "finding_id"], kind="stable")
    return f.drop_duplicates("family").head(n).drop(columns=["_o", "_a"]).reset_index(drop=True)


def top_rings(rings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` best-scored rings (``rings`` sorted by score, descending, then ring id)."""
    if rings.empty or "score" not in rings:
        return rings
    return rings.sort_values(["score", "ring_id"], ascending=[False, True], kind="stable").head(n).reset_index(drop=True)

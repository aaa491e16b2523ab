"""District summary metrics per township (clauses 3.1.7, 3.2.2 and the spot-check targets).

``township_metrics(ctx, findings)`` returns one row per township with
Chinese-labelled columns, for the district summary notebook:

==========================  ===============================================================
column                      meaning
==========================  ===============================================================
``街道（乡镇）``            township (official name as in the data)
``持证人数``                roster persons (any certificate status) in the township
``符合条件人数``            roster persons who meet some item's conditions (policy) in
                            at least one month of the review period
``享受人数``                distinct persons with a successful payment in the period
                            (the beneficiaries)
``符合条件已享受人数``      eligible persons with at least one successful payment
``享受率``                  符合条件已享受人数 / 符合条件人数 (0-1; blank when none eligible)
``代理银行数``              distinct banks paying in the township (3.2.2)
``疑点数``                  findings in the township
``疑点金额（分）``          sum of ``amount_fen`` of those findings (integer fen)
``每千名受益人疑点数``      疑点数 per 1,000 beneficiaries (享受人数)
``每千名受益人疑点金额（元）``  money at issue per 1,000 beneficiaries, yuan (2 decimals)
``自查上报问题数``          problems the township reported itself (``ctx.extras['self_reports']``,
                            ``{township: count}``; blank when not supplied)
``零报送``                  True when the township reported zero problems (or, without
                            self-reports, has zero findings)
``抽查重点``                True for 零报送 townships and those in the lowest quartile of
                            自查上报问题数 (else of 每千名受益人疑点数): the spot-check targets
==========================  ===============================================================

Notes
-----
``FOCUS_PROBLEMS.md``: 3.1.7 (take-up), 3.2.2 (agent banks), the spot checks of
September aimed at townships with few or zero self-reported problems.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["township_metrics", "METRIC_COLUMNS"]

METRIC_COLUMNS = ["街道（乡镇）", "持证人数", "符合条件人数", "享受人数", "符合条件已享受人数", "享受率",
                  "代理银行数", "疑点数", "疑点金额（分）", "每千名受益人疑点数", "每千名受益人疑点金额（元）",
                  "自查上报问题数", "零报送", "抽查重点"]


def township_metrics(ctx, findings: pd.DataFrame) -> pd.DataFrame:
    """One row per township: take-up, agent banks, findings and money per 1,000 beneficiaries.

    Parameters
    ----------
    ctx : onecard.rules.catalogue.RuleContext
        The run context (payouts, roster, policy, period; ``extras['self_reports']``
        optional).
    findings : DataFrame
        The standard findings frame (``onecard.core.findings.FINDINGS_COLUMNS``).

    Returns
    -------
    DataFrame
        Columns :data:`METRIC_COLUMNS` (see module docstring), sorted by township.
    """
    from ..rules.kit import paid_rows

    paid = paid_rows(ctx, listed_only=False)
    rec = ctx.recon
    roster = ctx.tables.get("roster")
    towns = set(paid["township"].dropna()) | set(findings["township"].dropna())
    if roster is not None and "township" in roster:
        towns |= set(roster["township"].dropna())
    out = pd.DataFrame({"街道（乡镇）": sorted(towns)}).set_index("街道（乡镇）")
    home = rec.drop_duplicates("person_id").set_index("person_id")["township"]
    if roster is not None and "township" in roster:
        out["持证人数"] = roster.drop_duplicates("person_id").groupby("township")["person_id"].size()
    else:
        out["持证人数"] = pd.NA
    elig = rec.loc[rec["eligible"].to_numpy(bool), "person_id"].drop_duplicates()
    out["符合条件人数"] = home.reindex(elig).value_counts()
    out["享受人数"] = paid.groupby("township")["person_id"].nunique()
    took = elig[elig.isin(paid["person_id"])]
    out["符合条件已享受人数"] = home.reindex(took).value_counts()
    for c in ("持证人数", "符合条件人数", "享受人数", "符合条件已享受人数"):
        out[c] = out[c].fillna(0).astype("Int64")
    out["享受率"] = (out["符合条件已享受人数"] / out["符合条件人数"].replace(0, pd.NA)).astype("Float64").round(4)
    out["代理银行数"] = paid.groupby("township")["bank"].nunique().reindex(out.index).fillna(0).astype("Int64")
    f = findings[findings["township"].notna()]
    out["疑点数"] = f.groupby("township").size().reindex(out.index).fillna(0).astype("Int64")
    out["疑点金额（分）"] = f.groupby("township")["amount_fen"].sum().reindex(out.index).fillna(0).astype("Int64")
    per = out["享受人数"].replace(0, pd.NA).astype("Float64")
    out["每千名受益人疑点数"] = (out["疑点数"] / per * 1000).round(2)
    out["每千名受益人疑点金额（元）"] = (out["疑点金额（分）"] / 100 / per * 1000).round(2)
    reports = ctx.extras.get("self_reports") if hasattr(ctx, "extras") else None
    if reports:
        out["自查上报问题数"] = pd.Series(reports).reindex(out.index).astype("Int64")
        out["零报送"] = (out["自查上报问题数"].fillna(0) == 0).astype(bool)
        basis = out["自查上报问题数"].astype("Float64")
    else:
        out["自查上报问题数"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out["零报送"] = (out["疑点数"] == 0).astype(bool)
        basis = out["每千名受益人疑点数"]
    q = basis.dropna().quantile(0.25) if basis.notna().any() else np.nan
    low = (basis <= q).fillna(False).astype(bool) if pd.notna(q) else False
    out["抽查重点"] = out["零报送"] | low
    return out.reset_index()[METRIC_COLUMNS]


def apply_submissions(metrics: pd.DataFrame, submissions: pd.DataFrame) -> pd.DataFrame:
    """Replace the self-report columns of :func:`township_metrics` with the ledger's
    township submissions (issue 11: 零报送 differs from 未报送).

    Parameters
    ----------
    metrics : DataFrame
        :data:`METRIC_COLUMNS`.
    submissions : DataFrame
        ``township, reported_count`` (Int64, missing = 未报送), ``status`` (已报送 /
        少报送 / 零报送 / 未报送), ``spot_check_target`` (bool), as
        ``onecard.ledger.submission_status`` returns (``few_reported_threshold`` applied).

    Returns
    -------
    DataFrame
        ``metrics`` with 自查上报问题数 = reported_count, 零报送 = status 零报送, 抽查重点 =
        spot_check_target, and a 报送情况 column after 自查上报问题数; townships the
        submissions do not list keep blank counts and are 未报送 spot-check targets.
    """
    s = submissions.set_index("township")
    town = metrics["街道（乡镇）"]
    out = metrics.copy()
    out["自查上报问题数"] = town.map(s["reported_count"]).astype("Int64")
    status = town.map(s["status"]).fillna("未报送")
    out["零报送"] = (status == "零报送").to_numpy(bool)
    out["抽查重点"] = town.map(s["spot_check_target"]).fillna(True).astype(bool).to_numpy()
    out.insert(out.columns.get_loc("自查上报问题数") + 1, "报送情况", status.to_numpy())
    return out

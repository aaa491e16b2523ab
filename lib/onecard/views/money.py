"""Money at issue for the reports: three categories that never overlap (issue 12 item 1).

The reports never show one "涉及金额" sum of ``amount_fen``: the same payout row
can be claimed by several rules (paid after death *and* not in the roster), and
a pooled account is also a ring. :func:`run_money` wraps
:func:`onecard.ledger.money.money_by_category` for a run:

- **疑似多发、应予追回** — per payout row the largest claim of any over-payment rule;
- **应发未发/少发** — once per person × subsidy × month;
- **资金安全风险** — payout rows once across the risk rules, never added to the others.

Source rows come from ``analysis/finding_rows.parquet`` (``finding_id, table, _file,
_sheet, _row, amount_fen``). Fallback when the file is absent (runs made before it
existed): each finding counts its own ``amount_fen`` once, so findings of different
rules on the same payment cannot be de-duplicated; :attr:`RunMoney.deduplicated`
is then False and the reports say so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..ledger.money import AT_RISK, CATEGORIES, OVERPAID, UNDERPAID, money_by_category

__all__ = ["RunMoney", "run_money", "finding_rows", "CATEGORIES", "CATEGORY_ANCHORS", "CATEGORY_NOTES"]

#: HTML anchor of each category's per-rule breakdown table.
CATEGORY_ANCHORS = {OVERPAID: "money-overpaid", UNDERPAID: "money-underpaid", AT_RISK: "money-at-risk"}

#: What each category holds (shown under the figures).
CATEGORY_NOTES = {
    OVERPAID: "死亡、迁出、服刑、证件失效后仍发放，超标准、重复发放，不符合条件发放；每笔发放明细只计一次（取各规则认定的最大金额）",
    UNDERPAID: "应享未享、少发、未发、被扣费、发放失败未处理；每人每项补贴每月只计一次",
    AT_RISK: "经多户共用账户、关联圈、非本人账户等流转的资金；每笔发放明细只计一次，不与前两类相加",
}


@dataclass(frozen=True)
class RunMoney:
    """Money of one township (or the district).

    Attributes
    ----------
    totals : dict
        Category -> fen (int), every category present.
    by_rule : DataFrame
        ``category, rule_id, clause, title_zh, findings, amount_fen``: each rule's
        own amount (rows once within the rule); rules overlap, so not additive.
    by_township : DataFrame
        ``township`` + one fen column per category (int).
    deduplicated : bool
        False when ``finding_rows.parquet`` was absent (fallback, see module doc).
    """

    totals: dict
    by_rule: pd.DataFrame
    by_township: pd.DataFrame
    deduplicated: bool

    def sections(self) -> list[dict]:
        """Template rows: ``category, anchor, note, amount_fen, rules`` (list of dicts)."""
        out = []
        for cat in CATEGORIES:
            rules = self.by_rule[self.by_rule["category"] == cat]
            out.append({"category": cat, "anchor": CATEGORY_ANCHORS[cat], "note": CATEGORY_NOTES[cat],
                        "amount_fen": int(self.totals.get(cat, 0)), "rules": rules.to_dict("records")})
        return out


def finding_rows(run) -> pd.DataFrame | None:
    """``analysis/finding_rows.parquet`` of the run, or None when the run has none."""
    path = Path(getattr(run, "work", None) or run.folder) / "analysis" / "finding_rows.parquet"
    return pd.read_parquet(path) if path.exists() else None


def run_money(run, township: str | None = None, *, rows: pd.DataFrame | None = None) -> RunMoney:
    """The three money categories of ``township`` (the district when None).

    Parameters
    ----------
    run : onecard.views.review.Run
    township : str, optional
    rows : DataFrame, optional
        ``finding_rows`` already read (else read from the run folder).

    Returns
    -------
    RunMoney
    """
    findings = run.analysis.findings
    if township is not None:
        findings = findings[(findings["township"] == township).fillna(False).to_numpy(bool)]
    if rows is None:
        rows = finding_rows(run)
    return money_of(findings, rows, run.analysis.rule_status)


def money_of(findings: pd.DataFrame, rows: pd.DataFrame | None, rule_status: pd.DataFrame | None = None
             ) -> RunMoney:
    """:class:`RunMoney` of a findings frame (``rows`` = finding_rows or None for the fallback)."""
    used = None if rows is None else rows[rows["finding_id"].isin(findings["finding_id"])]
    summary = money_by_category(findings, used)
    totals = summary.totals()
    by_rule = summary.by_rule.copy()
    counts = findings.groupby("rule_id").size().rename("findings")
    by_rule = by_rule.merge(counts, left_on="rule_id", right_index=True, how="left")
    if rule_status is not None and not rule_status.empty:
        by_rule = by_rule.merge(rule_status[["rule_id", "clause", "title_zh"]], on="rule_id", how="left")
    else:
        by_rule = by_rule.assign(clause="", title_zh=by_rule["rule_id"])
    by_rule["findings"] = by_rule["findings"].fillna(0).astype(int)
    order = {c: i for i, c in enumerate(CATEGORIES)}
    by_rule = (by_rule.assign(_o=by_rule["category"].map(order), _a=-by_rule["amount_fen"])
               .sort_values(["_o", "_a", "rule_id"], kind="stable").drop(columns=["_o", "_a"]))
    wide = (summary.by_township.pivot_table(index="township", columns="category", values="amount_fen",
                                            aggfunc="sum", fill_value=0)
            .reindex(columns=list(CATEGORIES), fill_value=0).astype("int64").reset_index())
    wide.columns.name = None
    return RunMoney(totals, by_rule[["category", "rule_id", "clause", "title_zh", "findings", "amount_fen"]]
                    .reset_index(drop=True), wide, rows is not None)


"""Money at issue in three categories that never overlap (reports issue; issue 11).

- **疑似多发、应予追回** (over-paid, to recover): for each payout row, the LARGEST
  amount any over-payment rule claims for that row, then summed. A payment
  paid after death *and* not in the roster is counted once.
- **应发未发/少发** (under-paid): once per person × subsidy × month; a finding's
  amount is spread over its months (integer fen, remainder in the last month)
  and the largest claim per key is taken.
- **资金安全风险** (money at risk): payout rows counted once across the risk
  rules; reported on its own, never added to the other two.

Fallback: a finding of the first or third category with no source rows (no
``finding_rows`` at all, as in runs before ``analysis/finding_rows.parquet``
existed, or none for that finding) counts its own ``amount_fen`` once, keyed by
the finding, so it cannot be de-duplicated against other findings.

Rules not in :data:`CATEGORY_OF_RULE` carry no money category. Money is
integer fen; nothing here loops over rows in Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OVERPAID, UNDERPAID, AT_RISK = "疑似多发、应予追回", "应发未发/少发", "资金安全风险"
CATEGORIES = (OVERPAID, UNDERPAID, AT_RISK)

#: THE one rule -> money category map.
CATEGORY_OF_RULE: dict[str, str] = {
    **dict.fromkeys(("PAID_AFTER_DEATH", "PAID_AFTER_MOVE", "PAID_IN_CUSTODY", "PAID_AFTER_CERT_END",
                     "OVER_STANDARD", "DUPLICATE_PAYMENT", "INELIGIBLE_GRADE", "INELIGIBLE_NO_DIBAO",
                     "EXCLUSIVE_BENEFIT", "NOT_IN_ROSTER", "NO_APPROVAL_RECORD"), OVERPAID),
    **dict.fromkeys(("SHORT_PAYMENT", "MISSED_MONTH", "ELIGIBLE_NOT_ENROLLED", "FEE_DEDUCTED",
                     "FAILED_NOT_RESOLVED"), UNDERPAID),
    **dict.fromkeys(("POOLED_ACCOUNT", "SHARED_IDENTIFIER_RING", "PAYEE_NOT_BENEFICIARY",
                     "OFFICIAL_ACCOUNT_RECEIVES", "MULTIPLE_ACCOUNTS", "ACCOUNT_NOT_REGISTERED",
                     "BANK_NOT_APPROVED", "CUSTODIAN_PHONE"), AT_RISK),
}


@dataclass(frozen=True)
class MoneySummary:
    """Result of :func:`money_by_category`.

    Attributes
    ----------
    by_township : DataFrame
        ``township, category, amount_fen`` (int), one row per township and
        category with money; categories never overlap.
    by_rule : DataFrame
        ``rule_id, category, amount_fen``: each rule's own amount (rows counted
        once within the rule). Rules overlap, so this breakdown is not additive.
    """

    by_township: pd.DataFrame
    by_rule: pd.DataFrame

    def totals(self) -> dict[str, int]:
        """Category -> total fen for the district (every category present)."""
        got = self.by_township.groupby("category")["amount_fen"].sum()
        return {c: int(got.get(c, 0)) for c in CATEGORIES}


def _row_claims(f: pd.DataFrame, rows: pd.DataFrame | None) -> pd.DataFrame:
    """``key, township, rule_id, amount_fen`` per payout row claimed (or per finding, fallback)."""
    cols = ["finding_id", "rule_id", "township"]
    if rows is not None and len(rows):
        pay = rows[rows["table"].astype("string") == "payouts"]
        pay = pay.assign(key=pay["_file"].astype("string").fillna("") + "|" + pay["_sheet"].astype("string").fillna("")
                         + "|" + pay["_row"].astype("string").fillna(""),
                         amount_fen=pd.to_numeric(pay["amount_fen"], errors="coerce").fillna(0).astype("int64"))
        claims = pay[["finding_id", "key", "amount_fen"]].merge(f[cols], on="finding_id", how="inner")
        without = f[~f["finding_id"].isin(claims["finding_id"])]
    else:
        claims = pd.DataFrame(columns=["finding_id", "key", "amount_fen", "rule_id", "township"])
        without = f
    fallback = without[cols].assign(key="finding|" + without["finding_id"].astype("string"),
                                    amount_fen=without["amount_fen"].astype("int64"))
    return pd.concat([claims, fallback], ignore_index=True)


def _month_claims(f: pd.DataFrame) -> pd.DataFrame:
    """Spread each under-payment finding over its months: ``key, township, rule_id, amount_fen``."""
    start = pd.to_numeric(f["period_start"].astype("string").str[:4], errors="coerce") * 12 + \
        pd.to_numeric(f["period_start"].astype("string").str[5:7], errors="coerce")
    known = start.notna() & f["months"].notna() & (f["months"].fillna(0) > 0)
    months = f["months"].where(known, 1).fillna(1).astype("int64").to_numpy()
    rep = f.loc[f.index.repeat(months)]
    k = rep.groupby(level=0).cumcount().to_numpy()
    n = np.repeat(months, months)
    total = rep["amount_fen"].astype("int64").to_numpy()
    base = total // n
    amount = np.where(k == n - 1, total - base * (n - 1), base)
    month = (start.where(known, -1).astype("int64").to_numpy())
    month = np.repeat(month, months) + k
    key = np.where(np.repeat(known.to_numpy(), months),
                   rep["subject_id"].astype("string").fillna("").to_numpy().astype(str) + "|"
                   + rep["subsidy"].astype("string").fillna("").to_numpy().astype(str) + "|" + month.astype(str),
                   "finding|" + rep["finding_id"].astype("string").to_numpy().astype(str))
    return pd.DataFrame({"key": key, "township": rep["township"].to_numpy(), "rule_id": rep["rule_id"].to_numpy(),
                         "amount_fen": amount})


def money_by_category(findings: pd.DataFrame, finding_rows: pd.DataFrame | None = None) -> MoneySummary:
    """Money at issue per township and category, plus the per-rule breakdown.

    Parameters
    ----------
    findings : DataFrame
        ``finding_id, rule_id, township, subject_id, subsidy, period_start,
        months, amount_fen`` (fen).
    finding_rows : DataFrame, optional
        ``finding_id, table, _file, _sheet, _row, amount_fen``; payout rows are
        ``table == 'payouts'``.

    Returns
    -------
    MoneySummary

    Examples
    --------
    >>> money_by_category(findings, rows).totals()   # doctest: +SKIP
    {'疑似多发、应予追回': 240000, '应发未发/少发': 5000, '资金安全风险': 768000}
    """
    f = findings.assign(category=findings["rule_id"].map(CATEGORY_OF_RULE),
                        amount_fen=pd.to_numeric(findings["amount_fen"], errors="coerce").fillna(0).astype("int64"),
                        township=findings["township"].astype("string").fillna("（未知）"))
    f = f[f["category"].notna()]
    parts, rules = [], []
    for category in CATEGORIES:
        sub = f[f["category"] == category]
        if sub.empty:
            continue
        claims = _month_claims(sub) if category == UNDERPAID else _row_claims(sub, finding_rows)
        once = claims.sort_values("amount_fen", ascending=False, kind="stable").drop_duplicates("key")
        parts.append(once.groupby("township", as_index=False)["amount_fen"].sum().assign(category=category))
        per_rule = claims.groupby(["rule_id", "key"], as_index=False)["amount_fen"].max()
        rules.append(per_rule.groupby("rule_id", as_index=False)["amount_fen"].sum().assign(category=category))
    by_township = (pd.concat(parts, ignore_index=True) if parts else
                   pd.DataFrame(columns=["township", "amount_fen", "category"]))
    by_rule = pd.concat(rules, ignore_index=True) if rules else pd.DataFrame(columns=["rule_id", "amount_fen", "category"])
    by_township["amount_fen"] = by_township["amount_fen"].astype("int64")
    by_rule["amount_fen"] = by_rule["amount_fen"].astype("int64")
    return MoneySummary(by_township[["township", "category", "amount_fen"]].reset_index(drop=True),
                        by_rule[["rule_id", "category", "amount_fen"]].sort_values("rule_id").reset_index(drop=True))

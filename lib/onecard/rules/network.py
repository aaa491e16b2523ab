"""The rules of the network layer (registered in the catalogue).

``SHARED_IDENTIFIER_RING``, ``POOLED_ACCOUNT``, ``OFFICIAL_ACCOUNT_RECEIVES``,
``CUSTODIAN_PHONE``, ``OFFICIAL_RELATIVE``, ``SELF_APPROVAL``,
``PAYEE_NOT_BENEFICIARY`` (``RULES.md``). Households are the household groups
of :mod:`onecard.graph.network` (roster ``household_id``, 低保 head, guardian
<-> ward, an official's spouse/children/parents). Money is successful payments
(``status == 'paid'`` or no status) in integer fen; ``subsidy`` is blank except
for ``SELF_APPROVAL``.
"""

from __future__ import annotations

import pandas as pd

from ..core.findings import FINDINGS_COLUMNS, cite, empty_findings, yuan
from .catalogue import rule
from ..graph.build import placeholder_mask, text


def _mode(s: pd.Series):
    s = s.dropna()
    return s.value_counts().sort_index(kind="stable").idxmax() if len(s) else pd.NA


def _paid(ctx) -> pd.DataFrame:
    """Successful payouts with clean ``person_id``, ``account_no`` and ``month``.

    Computed once per run and shared by the graph rules (cached in ``ctx.extras``);
    callers get a shallow copy, so adding columns never touches the cache.
    """
    extras = getattr(ctx, "extras", None)
    if isinstance(extras, dict):
        if "graph_paid" not in extras:
            extras["graph_paid"] = _compute_paid(ctx)
        return extras["graph_paid"].copy(deep=False)
    return _compute_paid(ctx)


def _compute_paid(ctx) -> pd.DataFrame:
    pay = ctx.tables["payouts"]
    out = pay.copy()
    out["person_id"] = text(pay, "person_id")
    out["account_no"] = text(pay, "account_no").str.replace(r"[\s\-]", "", regex=True)
    out["status"] = text(pay, "status").fillna("paid")
    month = pay["period"] if "period" in pay.columns else pd.Series(pd.NA, index=pay.index)
    if "paid_month" in pay.columns:
        month = month.fillna(pay["paid_month"])
    out["month"] = month.astype("period[M]") if len(pay) else month
    out["amount"] = pd.to_numeric(pay["amount"], errors="coerce").astype("Int64").fillna(0)
    return out[out["status"].eq("paid") & out["person_id"].notna()]


def _linkable_accounts(df: pd.DataFrame, params: dict) -> pd.Series:
    acct = df["account_no"]
    return acct.notna() & ~acct.str.contains("*", regex=False, na=False) & ~placeholder_mask(
        acct, "account", params)


def _household(net, ids: pd.Series) -> pd.Series:
    return ids.map(net.persons["household"]).fillna(ids)


def _finding(rows: pd.DataFrame, subject_type: str, subject_id: str, related, evidence: str,
             amount: int, name=pd.NA, subsidy=pd.NA, extra_rows: pd.DataFrame | None = None) -> dict:
    months = rows["month"].dropna() if "month" in rows.columns else pd.Series(dtype="period[M]")
    cited = pd.concat([rows, extra_rows]) if extra_rows is not None else rows
    return {"subject_type": subject_type, "subject_id": subject_id,
            "related_ids": ";".join(sorted(set(related))), "name": name, "subsidy": subsidy,
            "township": _mode(text(rows, "township")), "village": _mode(text(rows, "village")),
            "period_start": str(months.min()) if len(months) else pd.NA,
            "period_end": str(months.max()) if len(months) else pd.NA,
            "months": months.nunique(), "amount_fen": int(amount),
            "evidence": evidence + cite(cited)}


def _frame(rows: list[dict]) -> pd.DataFrame:
    """Findings rows as a frame in the standard column order (empty: the standard empty frame)."""
    if not rows:
        return empty_findings()
    df = pd.DataFrame(rows)
    return df[[c for c in FINDINGS_COLUMNS if c in df.columns]]


@rule("SHARED_IDENTIFIER_RING", clause="3.3.2", title_zh="多户共用账户/手机号关联圈",
      title_en="Shared-identifier ring", severity="high", tables=("payouts",),
      optional_tables=("cards", "roster", "dibao", "officials", "relations", "deaths", "moves"),
      params={"households": 3},
      description_zh="来自3户及以上不同家庭的补贴对象通过共用收款/登记账户或银行卡预留手机号相互关联。",
      must_not_flag_zh="同户成员之间、登记监护人与被监护人之间的共用；集中供养机构账户；占位值及超过度数上限的枢纽值。")
def shared_identifier_ring(ctx) -> pd.DataFrame:
    """One finding per ring of :attr:`Network.rings`; amount = money paid to members through
    the ring's accounts; evidence lists the score parts."""
    net = ctx.network
    if net.rings.empty:
        return empty_findings()
    paid = _paid(ctx)
    cards = ctx.tables.get("cards")
    out = []
    for r in net.rings.itertuples(index=False):
        members = r.members.split(";")
        accts = r.accounts.split(";") if isinstance(r.accounts, str) and r.accounts else []
        phones = r.phones.split(";") if isinstance(r.phones, str) and r.phones else []
        rows = paid[paid["person_id"].isin(members) & paid["account_no"].isin(accts)]
        card_rows = cards[text(cards, "account_no").isin(accts)] if cards is not None else None
        rows = rows.assign(township=r.township, village=r.village)
        # name only identifiers really shared: an account paid into for, or held by, two or
        # more members; the ring's other accounts are each member's own (linked via a phone)
        per_acct = rows.groupby("account_no")["person_id"].nunique()
        shared_accts = set(per_acct[per_acct >= 2].index)
        if card_rows is not None and len(card_rows):
            held = card_rows.assign(_a=text(card_rows, "account_no"), _h=text(card_rows, "holder_id"))
            held = held[held["_h"].isin(members)]
            paid_for = rows.groupby("account_no")["person_id"].unique()
            shared_accts |= {a for a, h in zip(held["_a"], held["_h"])
                             if set(paid_for.get(a, ())) - {h}}
        accts = [a for a in accts if a in shared_accts]
        if card_rows is not None and len(card_rows) and "phone" in card_rows:
            per_phone = card_rows.assign(_p=text(card_rows, "phone"), _a=text(card_rows, "account_no")) \
                .groupby("_p")["_a"].nunique()
            phones = [p for p in phones if per_phone.get(p, 0) >= 2]
        extras = [(r.shared_addresses, f"跨户共用地址{r.shared_addresses}处"),
                  (r.status_members, f"死亡/迁出/不在库{r.status_members}人"),
                  (r.officials, f"公职人员或其亲属{r.officials}人"),
                  (r.bulk_opened, f"同一经办人同日开卡{r.bulk_opened}张")]
        parts = "、".join([f"不相关户{r.households}户", f"人员{r.persons}人",
                          f"经关联账户发放{yuan(r.money_fen)}元"] + [t for n, t in extras if n])
        link = "、".join(filter(None, ["共用账户" + "、".join(accts[:3]) if accts else "",
                                        "银行卡预留同一手机号" + "、".join(phones[:3]) if phones else ""]))
        ev = (f"来自{r.households}户的{r.persons}名补贴对象通过{link}相互关联，"
              f"关联圈评分{r.score:.1f}（{parts}），属疑点待核实。")
        f = _finding(rows, "ring", r.ring_id, members, ev, r.money_fen, extra_rows=card_rows)
        f["township"], f["village"] = r.township, r.village
        out.append(f)
    return _frame(out)


@rule("POOLED_ACCOUNT", clause="3.1.4", title_zh="一个账户代收多户补贴", title_en="Pooled account",
      severity="high", tables=("payouts",), optional_tables=("cards", "roster", "dibao", "relations"),
      params={"households": 3},
      description_zh="同一账户收取3户及以上不同家庭补贴对象的补贴。",
      must_not_flag_zh="监护人账户代收同户成员补贴；集中供养机构账户（单独列示，不作疑点）。")
def pooled_account(ctx) -> pd.DataFrame:
    """Accounts paid into for beneficiaries of N or more household groups (institutions excluded)."""
    net = ctx.network
    n = int(ctx.param("POOLED_ACCOUNT", "households"))
    paid = _paid(ctx)
    paid = paid[_linkable_accounts(paid, net.params)
                & ~paid["account_no"].isin(set(net.institutions["account_no"].dropna()))]
    paid = paid.assign(hh=_household(net, paid["person_id"]))
    counts = paid.groupby("account_no")["hh"].nunique()
    holders = _holders(ctx)
    out = []
    for acct in counts[counts >= n].index:
        rows = paid[paid["account_no"] == acct]
        holder = holders.get(acct)
        others = rows[rows["person_id"] != holder] if holder is not None else rows
        who = f"持卡人{_name(net, holder)}的" if holder is not None else ""
        ev = (f"{who}账户{acct}收取了{counts[acct]}户{rows['person_id'].nunique()}名补贴对象的补贴，"
              f"其中代他人收取{yuan(others['amount'].sum())}元。")
        out.append(_finding(rows, "account", acct, rows["person_id"], ev, others["amount"].sum()))
    return _frame(out)


def _holders(ctx) -> dict:
    cards = ctx.tables.get("cards")
    if cards is None or not len(cards):
        return {}
    df = pd.DataFrame({"a": text(cards, "account_no"), "h": text(cards, "holder_id")}).dropna()
    return df.drop_duplicates("a").set_index("a")["h"].to_dict()


def _name(net, pid) -> str:
    name = net.persons["name"].get(pid) if pid is not None else None
    return name if isinstance(name, str) and name else (pid or "")


def _officials(ctx) -> pd.DataFrame:
    off = ctx.tables.get("officials")
    if off is None:
        return pd.DataFrame(columns=["official_id", "name", "position", "township", "account_no", "phone"])
    return pd.DataFrame({"official_id": text(off, "person_id"), "name": text(off, "name"),
                         "position": text(off, "position"), "township": text(off, "township"),
                         "account_no": text(off, "account_no"),
                         "phone": text(off, "phone").str.replace(r"[\s\-]", "", regex=True)})


def _wards(ctx) -> set:
    roster = ctx.tables.get("roster")
    if roster is None:
        return set()
    df = pd.DataFrame({"w": text(roster, "person_id"), "g": text(roster, "guardian_id")}).dropna()
    return set(zip(df["g"], df["w"]))


from . import network_people  # noqa: E402,F401  (registers the people rules; needs the helpers above)

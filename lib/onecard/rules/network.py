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
from .kit import finish, group_findings, is_known, key_merge, known_equal, known_ne


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


def _explode(frame: pd.DataFrame, key: str, col: str, out: str) -> pd.DataFrame:
    """``key`` x each ``;``-separated value of ``col`` (blank values dropped)."""
    v = frame[[key, col]].assign(**{col: frame[col].astype("string").fillna("").str.split(";")}).explode(col)
    v = v.rename(columns={col: out})
    return v[is_known(v[out])].reset_index(drop=True)


@rule("SHARED_IDENTIFIER_RING", clause="3.3.2", title_zh="多户共用账户/手机号关联圈",
      title_en="Shared-identifier ring", severity="high", tables=("payouts",),
      optional_tables=("cards", "roster", "dibao", "officials", "relations", "deaths", "moves"),
      params={"households": 3},
      description_zh="来自3户及以上不同家庭的补贴对象通过共用收款/登记账户或银行卡预留手机号相互关联。",
      must_not_flag_zh="同户成员之间、登记监护人与被监护人之间的共用；集中供养机构账户；占位值及超过度数上限的枢纽值。",
      message="关联圈须涉及{households}户及以上不同家庭")
def shared_identifier_ring(ctx) -> pd.DataFrame:
    """One finding per ring of :attr:`Network.rings`; amount = money paid to members through
    the ring's accounts; evidence lists the score parts. Vectorised over rings."""
    net = ctx.network
    rings = net.rings
    if rings.empty:
        return empty_findings()
    paid = _paid(ctx)
    cards = ctx.tables.get("cards")
    members = _explode(rings, "ring_id", "members", "person_id")
    accts = _explode(rings, "ring_id", "accounts", "account_no")
    phones = _explode(rings, "ring_id", "phones", "phone")
    rows = key_merge(paid, accts, on="account_no").merge(members, on=["ring_id", "person_id"], how="inner")
    info = rings.set_index("ring_id")
    rows = rows.assign(township=rows["ring_id"].map(info["township"]).to_numpy(),
                       village=rows["ring_id"].map(info["village"]).to_numpy())
    # name only identifiers really shared: an account paid into for, or held by, two or
    # more members; the ring's other accounts are each member's own (linked via a phone)
    per_acct = rows.groupby(["ring_id", "account_no"])["person_id"].nunique()
    shared = set(per_acct[per_acct >= 2].index)
    card_rows = pd.DataFrame(columns=["ring_id", "account_no"])
    if cards is not None and len(cards):
        c = cards.assign(account_no=text(cards, "account_no"), _h=text(cards, "holder_id"),
                         _p=text(cards, "phone") if "phone" in cards else pd.NA)
        card_rows = key_merge(c, accts, on="account_no")
        held = card_rows.merge(members.rename(columns={"person_id": "_h"}), on=["ring_id", "_h"], how="inner")
        pf = rows[["ring_id", "account_no", "person_id"]].drop_duplicates()
        other = key_merge(held[["ring_id", "account_no", "_h"]], pf, on=["ring_id", "account_no"])
        other = other[known_ne(other["person_id"], other["_h"])]
        shared |= set(zip(other["ring_id"], other["account_no"]))
        if "phone" in cards:
            per_phone = card_rows.dropna(subset=["_p"]).groupby(["ring_id", "_p"])["account_no"].nunique()
            ok_ph = set(per_phone[per_phone >= 2].index)
            phones = phones[[k in ok_ph for k in zip(phones["ring_id"], phones["phone"])]]
        else:
            phones = phones.iloc[:0]
    accts = accts[[k in shared for k in zip(accts["ring_id"], accts["account_no"])]]
    cite = card_rows.assign(_table="cards") if len(card_rows) else None
    out = group_findings(rows, "ring_id", amount="amount", cite_rows=cite)
    out = out.set_index("subject_id").reindex(rings["ring_id"].astype("string")).rename_axis("subject_id").reset_index()
    out["township"], out["village"] = rings["township"].to_numpy(), rings["village"].to_numpy()
    out["related_ids"] = rings["members"].map(lambda m: ";".join(sorted(set(m.split(";"))))).to_numpy()
    out["amount_fen"] = rings["money_fen"].astype("int64").to_numpy()
    out["months"] = out["months"].fillna(0).astype("int64")
    out["cite"] = out["cite"].fillna("")
    first3 = lambda f: f.groupby("ring_id")[f.columns[-1]].agg(lambda v: "、".join(list(v)[:3]))  # noqa: E731
    a3 = first3(accts).reindex(rings["ring_id"]).to_numpy()
    p3 = first3(phones).reindex(rings["ring_id"]).to_numpy()
    crit = ctx.message("SHARED_IDENTIFIER_RING")
    ev = []
    for r, a, ph, cit in zip(rings.itertuples(index=False), a3, p3, out["cite"]):
        extras = [(r.shared_addresses, f"跨户共用地址{r.shared_addresses}处"),
                  (r.status_members, f"死亡/迁出/不在库{r.status_members}人"),
                  (r.officials, f"公职人员或其亲属{r.officials}人"),
                  (r.bulk_opened, f"同一经办人同日开卡{r.bulk_opened}张")]
        parts = "、".join([f"不相关户{r.households}户", f"人员{r.persons}人",
                          f"经关联账户发放{yuan(r.money_fen)}元"] + [t for n, t in extras if n])
        link = "、".join(filter(None, ["共用账户" + a if isinstance(a, str) and a else "",
                                        "银行卡预留同一手机号" + ph if isinstance(ph, str) and ph else ""]))
        ev.append(f"来自{r.households}户的{r.persons}名补贴对象通过{link}相互关联，"
                  f"关联圈评分{r.score:.1f}（{parts}；判定标准：{crit}），属疑点待核实。{cit}")
    return finish(out, "ring", pd.Series(ev, index=out.index))


@rule("POOLED_ACCOUNT", clause="3.1.4", title_zh="一个账户代收多户补贴", title_en="Pooled account",
      severity="high", tables=("payouts",), optional_tables=("cards", "roster", "dibao", "relations"),
      params={"households": 3},
      description_zh="同一账户收取3户及以上不同家庭补贴对象的补贴。",
      must_not_flag_zh="监护人账户代收同户成员补贴；集中供养机构账户（单独列示，不作疑点）。",
      message="同一账户收取{households}户及以上不同家庭补贴对象的补贴")
def pooled_account(ctx) -> pd.DataFrame:
    """Accounts paid into for beneficiaries of N or more household groups (institutions excluded).

    Without a supplied ``roster.household_id`` the "one household" exception cannot
    be checked: such accounts go to the 未能排除合法情形 list (``ctx.cannot_clear``),
    not into findings. ``amount_fen`` = money collected for people other than the holder.
    """
    net = ctx.network
    n = int(ctx.param("POOLED_ACCOUNT", "households"))
    paid = _paid(ctx)
    paid = paid[_linkable_accounts(paid, net.params)
                & ~paid["account_no"].isin(set(net.institutions["account_no"].dropna()))]
    paid = paid.assign(hh=_household(net, paid["person_id"]))
    counts = paid.groupby("account_no")["hh"].nunique()
    flagged = counts[counts >= n].index
    rows = paid[paid["account_no"].isin(flagged)]
    if rows.empty:
        return empty_findings()
    if not ctx.supplied("roster", "household_id"):
        subj = rows.groupby("account_no").agg(township=("township", "first")).reset_index()
        ctx.cannot_clear("POOLED_ACCOUNT", subj.rename(columns={"account_no": "subject_id"})
                         .assign(subject_type="account"), "roster.household_id",
                         f"未提供户号（roster.household_id），无法排除同户监护人代收；该账户收取了{n}名及以上补贴对象的补贴")
        return empty_findings()
    holders = pd.Series(_holders(ctx), dtype="string")
    holder = rows["account_no"].map(holders)
    others = rows[~known_equal(rows["person_id"], holder)]
    out = group_findings(rows, "account_no", related="person_id", claim_rows=others)
    persons = rows.groupby("account_no")["person_id"].nunique()
    crit = ctx.message("POOLED_ACCOUNT")
    ev = []
    for acct, amt, cit in zip(out["subject_id"], out["amount_fen"], out["cite"]):
        h = holders.get(acct)
        who = f"持卡人{_name(net, h)}的" if isinstance(h, str) else ""
        ev.append(f"{who}账户{acct}收取了{counts[acct]}户{persons[acct]}名补贴对象的补贴，"
                  f"其中代他人收取{yuan(amt)}元（判定标准：{crit}）。{cit}")
    return finish(out, "account", pd.Series(ev, index=out.index))


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


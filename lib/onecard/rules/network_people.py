"""Network rules about people: officials' accounts and phones, relatives, self-approval,
payee not the beneficiary. Imported (and so registered) by :mod:`onecard.rules.network`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.findings import yuan
from .kit import (finish, group_findings, is_known, join_groups, join_unique, key_merge, known_equal, known_ne, looks_like_id,
                  resolve_names)
from .catalogue import rule
from ..graph.build import placeholder_mask, text
from .network import (_frame, _holders, _household, _linkable_accounts, _name, _officials,
                      _paid, _wards)


def _pairs(a: pd.Series, b: pd.Series) -> pd.DataFrame:
    return pd.DataFrame({"a": a.astype("string").to_numpy(), "b": b.astype("string").to_numpy()})


def _in_pairs(a: pd.Series, b: pd.Series, pairs: set) -> np.ndarray:
    """Bool per position: ``(a, b)`` is one of ``pairs`` (missing values never are). Vectorised."""
    if not pairs:
        return np.zeros(len(a), dtype=bool)
    ref = pd.DataFrame(list(pairs), columns=["a", "b"]).astype("string").drop_duplicates()
    left = _pairs(a, b).reset_index(drop=True).reset_index()
    hit = key_merge(left, ref, on=["a", "b"])
    out = np.zeros(len(a), dtype=bool)
    out[hit["index"].to_numpy()] = True
    return out


@rule("OFFICIAL_ACCOUNT_RECEIVES", clause="3.3.3", title_zh="公职人员账户代收他人补贴",
      title_en="Official's account receives others' subsidies", severity="high",
      tables=("payouts", "officials"), optional_tables=("cards", "roster", "relations", "dibao"),
      description_zh="公职人员或村(社区)干部本人账户收取他人的补贴。",
      must_not_flag_zh="该公职人员登记监护的被监护人及本户成员的补贴。")
def official_account_receives(ctx) -> pd.DataFrame:
    """Accounts held by an official (officials.account_no or card holder) paid into for others."""
    net = ctx.network
    off = _officials(ctx)
    own = off[["account_no", "official_id"]].dropna()
    holders = pd.Series(_holders(ctx), dtype="string")
    by_card = holders[holders.isin(set(off["official_id"].dropna()))]
    own = pd.concat([own, pd.DataFrame({"account_no": by_card.index, "official_id": by_card.values})])
    own = own.drop_duplicates("account_no").set_index("account_no")["official_id"]
    paid = _paid(ctx)
    paid = paid[_linkable_accounts(paid, net.params) & paid["account_no"].isin(own.index)]
    paid = paid.assign(official=paid["account_no"].map(own))
    keep = (known_ne(paid["person_id"], paid["official"])
            & ~known_equal(_household(net, paid["person_id"]), _household(net, paid["official"]))
            & ~_in_pairs(paid["official"], paid["person_id"], _wards(ctx)))
    paid = paid[keep]
    if paid.empty:
        return _frame([])
    out = group_findings(paid, "account_no", related="person_id")
    oid = paid.groupby("account_no")["official"].first().reindex(out["subject_id"]).to_numpy()
    persons = paid.groupby("account_no")["person_id"].nunique().reindex(out["subject_id"]).to_numpy()
    out["name"] = [_name(net, o) for o in oid]
    ev = [f"公职人员{nm}（{o}）本人账户{a}收取了{k}名非本户、非被监护人的补贴共{yuan(amt)}元。{c}"
          for nm, o, a, k, amt, c in zip(out["name"], oid, out["subject_id"], persons, out["amount_fen"], out["cite"])]
    return finish(out, "account", pd.Series(ev, index=out.index))


@rule("CUSTODIAN_PHONE", clause="3.3.4", title_zh="银行卡预留手机号被他人掌握",
      title_en="Custodian phone on others' cards", severity="medium", tables=("cards",),
      optional_tables=("officials", "payouts", "roster", "relations", "dibao"),
      params={"households": 3},
      description_zh="银行卡预留手机号属于公职人员且出现在他户人员卡上，或被3户及以上不同家庭的卡共用。",
      must_not_flag_zh="公职人员本人及本户成员的卡；占位值（无、0、全零号码）。",
      message="预留手机号属于公职人员并出现在他户人员卡上，或被{households}户及以上不同家庭的卡共用")
def custodian_phone(ctx) -> pd.DataFrame:
    """Card reserved phones of officials on outsiders' cards, or shared by N+ household groups.

    Works without phones in the officials list (then only the sharing test applies)
    and without payouts (amount 0). Vectorised over phones.
    """
    net = ctx.network
    n = int(ctx.param("CUSTODIAN_PHONE", "households"))
    cards = ctx.tables["cards"]
    df = cards.assign(account_no=text(cards, "account_no"), holder_id=text(cards, "holder_id"),
                      phone=text(cards, "phone").str.replace(r"[\s\-]", "", regex=True))
    df = df[is_known(df["phone"]) & is_known(df["holder_id"]) & ~is_known(text(cards, "institution"))]
    df = df[~placeholder_mask(df["phone"], "phone", net.params).to_numpy(bool)]
    if df.empty:
        return _frame([])
    df = df.assign(hh=_household(net, df["holder_id"]))
    off = _officials(ctx)
    off = off[is_known(off["phone"]) & is_known(off["official_id"])].drop_duplicates("phone")
    owner = pd.Series(off["official_id"].to_numpy(), index=off["phone"].astype("string").to_numpy(), dtype="string")
    df = df.assign(official=df["phone"].map(owner).astype("string"))
    outsider = (is_known(df["official"]) & known_ne(df["holder_id"], df["official"])
                & ~known_equal(df["hh"], _household(net, df["official"])))
    counts = df.groupby("phone")["hh"].nunique()
    phones = set(df.loc[outsider, "phone"]) | set(counts[counts >= n].index)
    sel = df[df["phone"].isin(phones).to_numpy(bool) & (~is_known(df["official"]) | outsider)]
    if sel.empty:
        return _frame([])
    money = pd.DataFrame(columns=["phone", "amount", "month"])
    if "payouts" in ctx.tables:
        money = key_merge(_paid(ctx), sel[["account_no", "phone"]].drop_duplicates(), on="account_no")
    bare = sel[~sel["phone"].isin(set(money["phone"]))].assign(amount=0, month=pd.NA)
    base = pd.concat([money, bare], ignore_index=True)
    out = group_findings(base, "phone", cite_rows=sel.assign(_table="cards"),
                         claim_rows=money)
    out["related_ids"] = out["subject_id"].map(join_unique(sel, "phone", "holder_id")).to_numpy()
    oid = sel.groupby("phone")["official"].first().reindex(out["subject_id"]).to_numpy()
    nh = sel.groupby("phone")["holder_id"].nunique().reindex(out["subject_id"]).to_numpy()
    crit = ctx.message("CUSTODIAN_PHONE")
    ev = []
    for ph, o, k, amt, c in zip(out["subject_id"], oid, nh, out["amount_fen"], out["cite"]):
        if isinstance(o, str):
            who = f"公职人员{_name(net, o)}（{o}）的手机号{ph}被预留在{k}名他户人员的银行卡上"
        else:
            who = f"手机号{ph}被预留在{counts[ph]}户{k}名人员的银行卡上"
        ev.append(f"{who}，这些卡共收取补贴{yuan(amt)}元，存在代管他人银行卡的疑点（判定标准：{crit}）。{c}")
    return finish(out, "phone", pd.Series(ev, index=out.index))


@rule("OFFICIAL_RELATIVE", clause="3.3.1", title_zh="公职人员亲属享受补贴",
      title_en="Relative of an official receives subsidies", severity="medium",
      tables=("payouts", "relations"), optional_tables=("officials", "roster"),
      description_zh="补贴对象是本乡镇(街道)公职人员或村(社区)干部的亲属。",
      must_not_flag_zh="其他乡镇(街道)公职人员的亲属。")
def official_relative(ctx) -> pd.DataFrame:
    """Beneficiaries paid successfully who are relatives of an official of the same township
    (an official without a known township counts as same township)."""
    net = ctx.network
    rel = ctx.tables["relations"]
    rel = pd.DataFrame({"official_id": text(rel, "official_id"), "relative_id": text(rel, "relative_id"),
                        "relation": text(rel, "relation")}).dropna(subset=["official_id", "relative_id"])
    rel = rel[known_ne(rel["official_id"], rel["relative_id"])]
    off = _officials(ctx).drop_duplicates("official_id").set_index("official_id")
    paid = _paid(ctx)
    ben_town = net.persons["township"].reindex(rel["relative_id"]).values
    off_town = off["township"].reindex(rel["official_id"]).values
    rel = rel.assign(ben_town=ben_town, off_town=off_town)
    same = ~is_known(rel["off_town"]) | ~is_known(rel["ben_town"]) | known_equal(rel["off_town"], rel["ben_town"])
    rel = rel[same & rel["relative_id"].isin(set(paid["person_id"])).to_numpy(bool)]
    if rel.empty:
        return _frame([])
    rows = paid[paid["person_id"].isin(set(rel["relative_id"]))]
    out = group_findings(rows, "person_id")
    out["related_ids"] = out["subject_id"].map(join_unique(rel, "relative_id", "official_id")).to_numpy()
    pos = off["position"].reindex(rel["official_id"]).astype("string").fillna("").to_numpy()
    rel = rel.assign(t=[f"{_name(net, o)}（{p_}）的{r if isinstance(r, str) else '亲属'}".replace("（）", "")
                        for o, p_, r in zip(rel["official_id"], pos, rel["relation"])])
    who = rel.groupby("relative_id", sort=False)["t"].agg("、".join)
    out["name"] = [_name(net, p_) for p_ in out["subject_id"]]
    ev = [f"补贴对象{nm}是{w}，领取补贴{yuan(a)}元，需核实是否优亲厚友。{c}"
          for nm, w, a, c in zip(out["name"], out["subject_id"].map(who), out["amount_fen"], out["cite"])]
    return finish(out, "person", pd.Series(ev, index=out.index))


def _canonical_subsidy(ctx, values: pd.Series) -> pd.Series:
    """Subsidy names folded to the policy's canonical names (unknown names kept as written)."""
    policy = getattr(ctx, "policy", None)
    if policy is None or values is None:
        return values
    return policy.canonical_subsidy(values).fillna(values)


@rule("SELF_APPROVAL", clause="3.3.1", title_zh="本人或亲属审批经办", title_en="Self or relative approval",
      severity="high", tables=("entitlements",),
      optional_tables=("payouts", "officials", "relations", "roster"),
      description_zh="补贴享受资格由补贴对象本人或其亲属审批或经办。",
      must_not_flag_zh="审批人、经办人与补贴对象无亲属关系且不同户；审批人姓名无法唯一确定身份（重名、未匹配，列入待人工确认）。")
def self_approval(ctx) -> pd.DataFrame:
    """Entitlements whose approver/handler is the beneficiary, a relation-table relative or a
    member of the same household group.

    Approver/handler text is an ID, or a name resolved by :func:`onecard.rules.kit.resolve_names`
    among the officials and roster persons of the beneficiary's township (unique there,
    consistent with any ID fragment, or confirmed in ``confirmations.yaml``). A name
    that does not resolve is *unknown*: it goes to the 待人工确认 list
    (``ctx.pending``), never into a finding. The entitlement rows of one person and
    subsidy (rate changes, renewals) are one finding.

    Returns
    -------
    DataFrame
        One finding per person x subsidy; ``amount_fen`` = all paid for that subsidy (fen).
    """
    net = ctx.network
    ent = ctx.tables["entitlements"]
    roles = [(c, lab) for c, lab in (("approver", "审批人"), ("handler", "经办人")) if c in ent.columns]
    if ent.empty or not roles:  # nothing to check: no approver/handler recorded
        return _frame([])
    pid = text(ent, "person_id")
    town = text(ent, "township")
    town = town.fillna(pid.map(net.persons["township"]) if "township" in net.persons else town)
    base = pd.DataFrame({"person_id": pid, "subsidy": _canonical_subsidy(ctx, text(ent, "subsidy")),
                         "township": town, "_e": np.arange(len(ent))}, index=ent.index)
    long = pd.concat([base.assign(who=text(ent, c), role=lab, column=c) for c, lab in roles])
    long = long[is_known(long["who"]) & is_known(long["person_id"])].reset_index(drop=True)
    if long.empty:
        return _frame([])
    who_up = long["who"].str.upper()
    is_id = looks_like_id(long["who"]) | who_up.isin(net.persons.index).to_numpy()
    long["who_id"] = who_up.where(is_id)
    named = ~is_id
    if named.any():
        off = _officials(ctx)
        people = pd.concat([pd.DataFrame({"person_id": off["official_id"], "name": off["name"],
                                          "township": off["township"]}),
                            pd.DataFrame({"person_id": net.persons.index.astype("string"),
                                          "name": net.persons["name"].astype("string"),
                                          "township": net.persons["township"].astype("string")
                                          if "township" in net.persons else pd.NA})], ignore_index=True)
        conf = ctx.confirmations
        conf = conf[(conf["table"].isna() | (conf["table"] == "entitlements")).to_numpy(bool)]
        sub = long[named]
        res = resolve_names(sub[["who", "township"]].rename(columns={"who": "name"}), people, conf)
        long.loc[named, "who_id"] = res["person_id"].to_numpy()
        unresolved = res["reason"].notna().to_numpy() & ~res["confirmed"].to_numpy()
        if unresolved.any():
            src = ent.iloc[sub["_e"].to_numpy()[unresolved]]
            ctx.pending(pd.DataFrame({
                "table": "entitlements", "_file": text(src, "_file").to_numpy(),
                "_sheet": text(src, "_sheet").to_numpy(),
                "_row": src["_row"].to_numpy() if "_row" in src else pd.NA,
                "column": sub["column"].to_numpy()[unresolved], "name": sub["who"].to_numpy()[unresolved],
                "township": sub["township"].to_numpy()[unresolved],
                "candidates": res["candidates"].to_numpy()[unresolved],
                "reason": res["reason"].to_numpy()[unresolved]}))
    # the three relations, each "unknown" (False) when the approver did not resolve
    self_ = known_equal(long["who_id"], long["person_id"])
    rel = ctx.tables.get("relations")
    kin = np.zeros(len(long), dtype=bool)
    if rel is not None and len(rel):
        a, b = text(rel, "official_id"), text(rel, "relative_id")
        pairs = pd.concat([pd.DataFrame({"who_id": a, "person_id": b}),
                           pd.DataFrame({"who_id": b, "person_id": a})]).drop_duplicates()
        hit = key_merge(long[["who_id", "person_id"]].reset_index(), pairs, on=["who_id", "person_id"])
        kin[hit["index"].to_numpy()] = True
    hh = known_equal(_household(net, long["who_id"]).where(is_known(long["who_id"])),
                     _household(net, long["person_id"]))
    why = np.where(self_, "本人", np.where(kin, "亲属", np.where(hh, "同户成员", "")))
    hits = long[why != ""].assign(why=why[why != ""])
    if hits.empty:
        return _frame([])
    hits = hits.assign(_k=hits["person_id"] + "\x1f" + hits["subsidy"].fillna(""))
    keys = hits[["_k", "person_id", "subsidy"]].drop_duplicates("_k")
    rows_ent = ent.iloc[hits["_e"].unique()]
    rows_ent = rows_ent.assign(_k=(text(rows_ent, "person_id") + "\x1f"
                                   + _canonical_subsidy(ctx, text(rows_ent, "subsidy")).fillna("")).to_numpy(),
                               month=pd.NA, _table="entitlements")
    money = pd.DataFrame(columns=["_k", "amount", "month"])
    if "payouts" in ctx.tables:
        paid = _paid(ctx)
        paid = paid.assign(_k=(paid["person_id"] + "\x1f"
                               + _canonical_subsidy(ctx, text(paid, "subsidy")).fillna("")).to_numpy())
        money = paid[paid["_k"].isin(set(keys["_k"]))]
    bare = rows_ent[~rows_ent["_k"].isin(set(money["_k"]))]
    base_rows = pd.concat([money, bare.assign(amount=0)], ignore_index=True)
    out = group_findings(base_rows, "_k", amount="amount", cite_rows=rows_ent, split_subsidy=True)
    hits = hits.assign(rel=(hits["role"] + hits["who"] + "为其" + hits["why"]))
    say = join_groups(hits["_k"].to_numpy(), hits["rel"].to_numpy(), "；")
    rel_ids = hits.assign(r=hits["who_id"].fillna(hits["who"])).pipe(join_unique, "_k", "r")
    k = out["subject_id"] + "\x1f" + out["subsidy"].fillna("")
    out["related_ids"] = k.map(rel_ids).to_numpy()
    out["name"] = [_name(net, p) for p in out["subject_id"]]
    ev = [f"补贴对象{n}的{s if isinstance(s, str) else ''}享受资格中，{w}，已发放{yuan(a)}元。{c}"
          for n, s, w, a, c in zip(out["name"], out["subsidy"], k.map(say), out["amount_fen"], out["cite"])]
    out["subsidy"] = out["subsidy"].replace("", pd.NA)
    return finish(out, "person", pd.Series(ev, index=out.index))


@rule("PAYEE_NOT_BENEFICIARY", clause="3.1.4", title_zh="收款账户非本人", title_en="Payee is not the beneficiary",
      severity="medium", tables=("payouts", "cards"), optional_tables=("roster",),
      description_zh="补贴发放到的账户，持卡人既不是补贴对象本人，也不是其登记监护人。",
      must_not_flag_zh="残疾人库登记的监护人账户；集中供养机构账户；账号已脱敏无法核对的记录。")
def payee_not_beneficiary(ctx) -> pd.DataFrame:
    """Successful payments into a registered card whose holder is neither the beneficiary nor
    the beneficiary's registered guardian (roster ``guardian_id``).

    Without a supplied ``roster.guardian_id`` the guardian exception cannot be checked:
    those people go to the 未能排除合法情形 list, not into findings.
    """
    net = ctx.network
    paid = _paid(ctx)
    paid = paid[_linkable_accounts(paid, net.params)
                & ~paid["account_no"].isin(set(net.institutions["account_no"].dropna()))]
    paid = paid.assign(holder=paid["account_no"].map(pd.Series(_holders(ctx), dtype="string")))
    roster = ctx.tables.get("roster")
    guardian = (pd.Series(text(roster, "guardian_id").values, index=text(roster, "person_id").values)
                if roster is not None else pd.Series(dtype="string"))
    guardian = guardian[~guardian.index.duplicated()]
    paid = paid.assign(guardian=paid["person_id"].map(guardian))
    bad = paid[known_ne(paid["holder"], paid["person_id"]) & ~known_equal(paid["holder"], paid["guardian"])]
    if bad.empty:
        return _frame([])
    if not ctx.supplied("roster", "guardian_id"):
        subj = bad.groupby("person_id").agg(township=("township", "first")).reset_index()
        ctx.cannot_clear("PAYEE_NOT_BENEFICIARY", subj.rename(columns={"person_id": "subject_id"}),
                         "roster.guardian_id",
                         "未提供监护人身份证号（roster.guardian_id），无法排除监护人代收；补贴发放到他人账户")
        return _frame([])
    out = group_findings(bad, "person_id", related="account_no")
    pairs = bad[["person_id", "holder", "account_no"]].drop_duplicates()
    pairs = pairs.assign(t=[f"{_name(net, h)}（{a}）" for h, a in zip(pairs["holder"], pairs["account_no"])])
    holders = pairs.groupby("person_id", sort=False)["t"].agg("、".join)
    out["name"] = [_name(net, p_) for p_ in out["subject_id"]]
    ev = [f"补贴对象{nm}的补贴{yuan(a)}元发放到他人账户：{h}，持卡人不是本人也不是登记监护人。{c}"
          for nm, a, h, c in zip(out["name"], out["amount_fen"], out["subject_id"].map(holders), out["cite"])]
    return finish(out, "person", pd.Series(ev, index=out.index))

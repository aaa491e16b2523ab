"""Labelled anomalies about accounts, phones, officials and rings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.findings import ring_id
from . import base
from .events import drop_own_card
from .inject import _full, _t
from .people import District, _adults


def _card(d: District, holder_id, holder_name, phone, bank="中国农业银行", account=None, township=""):
    acct = account or base.luhn_cards(d.rng, np.array([base.BANK_BINS[bank]]))[0]
    d.extra_cards.append(dict(holder_id=holder_id, holder_name=holder_name, phone=phone, address="",
                              township=township, account_no=acct, bank=bank,
                              opened_on=np.datetime64("2018-03-12"), closed_on=np.datetime64("NaT"),
                              card_status="正常", institution="", opened_by=""))
    return acct


def _route(d: District, pos, acct: str, months=None) -> None:
    """Pay the people at ``pos`` into ``acct`` (all months or the given ones)."""
    ids = d.people.loc[np.atleast_1d(pos), "person_id"]
    m = d.payouts["person_id"].isin(ids).to_numpy()
    if months is not None:
        m = m & np.isin(d.payouts["period_ix"].to_numpy(), list(months))
    d.payouts.loc[m, "account_no"] = acct


def _one_township(d: District, size: int) -> np.ndarray:
    """``size`` unused full-period people of one township (distinct households)."""
    p = d.people
    full = _full(d) & ~d.used
    counts = p.loc[full, "township_code"].value_counts()
    t = counts.index[int(d.rng.integers(0, min(5, len(counts))))]
    return d.pick(size, _full(d, None, (p["township_code"] == t).to_numpy()))


def inject_account_rules(d: District, k: int) -> None:
    """Payee, unregistered account, bank, multiple accounts, pooled accounts, rings, officials."""
    p, rng, o = d.people, d.rng, d.officials
    adults = _adults(d, 3 * k + 10)
    a = 0
    for i in d.pick(k, _full(d)):  # account held by an unrelated person
        acct = _card(d, adults.loc[a, "person_id"], adults.loc[a, "name"], d._spare_phones.pop())
        a += 1
        drop_own_card(d, i)
        _route(d, i, acct)
        _t(d, "PAYEE_NOT_BENEFICIARY", "person", p.loc[i, "person_id"])
    for i in d.pick(k, _full(d)):  # account missing from the card registry
        acct = base.luhn_cards(rng, np.array([base.BANK_BINS["中国邮政储蓄银行"]]))[0]
        d.unregistered[acct] = ("中国邮政储蓄银行", p.loc[i, "name"])
        drop_own_card(d, i)
        _route(d, i, acct)
        _t(d, "ACCOUNT_NOT_REGISTERED", "account", acct)
    for j, i in enumerate(d.pick(k, _full(d))):  # bank not on the approved list
        bank = ["汉口银行", "招商银行", "中国工商银行"][j % 3]
        drop_own_card(d, i)
        acct = _card(d, p.loc[i, "person_id"], p.loc[i, "name"], p.loc[i, "phone"], bank)
        _route(d, i, acct)
        _t(d, "BANK_NOT_APPROVED", "account", acct)
    for i in d.pick(k, _full(d)):  # two registered cards, both paid into
        bank = "中国建设银行" if not p.loc[i, "acct"].startswith(base.BANK_BINS["中国建设银行"]) else "中国农业银行"
        acct = _card(d, p.loc[i, "person_id"], p.loc[i, "name"], p.loc[i, "phone"], bank)
        _route(d, i, acct, range(1, 24, 2))
        _t(d, "MULTIPLE_ACCOUNTS", "person", p.loc[i, "person_id"])
    for r in range(k):  # pooled account of a middleman: also a ring and payee problems
        members = _one_township(d, 3 + r % 2)
        acct = _card(d, adults.loc[a, "person_id"], adults.loc[a, "name"], d._spare_phones.pop(),
                     township=p.loc[members[0], "township"])
        a += 1
        drop_own_card(d, members)
        _route(d, members, acct)
        ids = list(p.loc[members, "person_id"])
        _t(d, "POOLED_ACCOUNT", "account", acct, rel=";".join(sorted(ids)))
        _t(d, "SHARED_IDENTIFIER_RING", "ring", ring_id(ids), rel=";".join(sorted(ids)))
        for pid in ids:
            _t(d, "PAYEE_NOT_BENEFICIARY", "person", pid)
    for r in range(k):  # ring through one reserved phone on 3-4 households' own cards
        members = _one_township(d, 3 + r % 2)
        phone = d._spare_phones.pop()
        ids = list(p.loc[members, "person_id"])
        d.cards.loc[d.cards["holder_id"].isin(ids), "phone"] = phone
        _t(d, "SHARED_IDENTIFIER_RING", "ring", ring_id(ids), rel=";".join(sorted(ids)))
        _t(d, "CUSTODIAN_PHONE", "phone", phone, rel=";".join(sorted(ids)))
    cadres = o.index[o["position"] == "残协专干"].to_numpy()
    chosen = rng.choice(cadres, 2 * k, replace=False)
    for j in range(k):  # an official's phone on two other households' cards
        off = o.loc[chosen[j]]
        members = d.pick(2, _full(d, None, (p["township"] == off["township"]).to_numpy()))
        ids = list(p.loc[members, "person_id"])
        d.cards.loc[d.cards["holder_id"].isin(ids), "phone"] = off["phone"]
        _t(d, "CUSTODIAN_PHONE", "phone", off["phone"], rel=";".join(sorted(ids)))
    for j in range(k):  # an official's own account receives someone else's subsidy
        off = o.loc[chosen[k + j]]
        i = d.pick(1, _full(d, None, (p["township"] == off["township"]).to_numpy()))[0]
        acct = _card(d, off["person_id"], off["name"], off["phone"], account=off["account_no"])
        drop_own_card(d, i)
        _route(d, i, acct)
        _t(d, "OFFICIAL_ACCOUNT_RECEIVES", "account", acct, rel=p.loc[i, "person_id"])
        _t(d, "PAYEE_NOT_BENEFICIARY", "person", p.loc[i, "person_id"])
    _official_people(d, k)


def _official_people(d: District, k: int) -> None:
    """Officials who are beneficiaries, officials' relatives, approvals by relatives."""
    p, o = d.people, d.officials
    heads = o[o["position"] == "残联理事长"].set_index("township")
    cadre = o[o["position"] == "残协专干"].set_index(["township", "village"])
    rows = []
    for i in d.pick(k, _full(d)):  # beneficiary on the officials list
        rows.append(dict(township=p.loc[i, "township"], village=p.loc[i, "village"],
                         township_code=p.loc[i, "township_code"], employer=p.loc[i, "village"],
                         position="村民小组长", person_id=p.loc[i, "person_id"], name=p.loc[i, "name"],
                         phone=p.loc[i, "phone"], account_no=p.loc[i, "acct"]))
        _t(d, "OFFICIAL_RECIPIENT", "person", p.loc[i, "person_id"])
    d.officials = pd.concat([o, pd.DataFrame(rows)], ignore_index=True)
    for i in d.pick(k, _full(d)):  # relative of the township's federation head
        d.relations.append((heads.loc[p.loc[i, "township"], "person_id"], p.loc[i, "person_id"], "子女"))
        _t(d, "OFFICIAL_RELATIVE", "person", p.loc[i, "person_id"])
    for i in d.pick(k, _full(d)):  # handled by a relative (village cadre): both rules
        off = cadre.loc[(p.loc[i, "township"], p.loc[i, "village"])]
        d.relations.append((off["person_id"], p.loc[i, "person_id"], "兄弟姐妹"))
        _t(d, "SELF_APPROVAL", "person", p.loc[i, "person_id"])
        _t(d, "OFFICIAL_RELATIVE", "person", p.loc[i, "person_id"])
    towns = list(heads.index)
    for i in d.pick(k, _full(d)):  # decoy: relative of an official of another township
        other = towns[(towns.index(p.loc[i, "township"]) + 1) % len(towns)]
        d.relations.append((heads.loc[other, "person_id"], p.loc[i, "person_id"], "配偶"))
        d.decoy("relative_of_official_other_township", "person", p.loc[i, "person_id"])

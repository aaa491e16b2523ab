"""Legitimate look-alikes (decoys): baseline events handled correctly.

Each function picks unused people, changes the baseline so the event is handled
the lawful way, and records the people (or accounts, items) in ``d.decoys``.
None of them may produce a finding. Functions named ``pre_*`` run before the
payouts are expanded, ``post_*`` after.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import base
from .people import District, _adults

OUTSIDE = ["武汉市江夏区", "武汉市东西湖区", "湖北省孝感市汉川市", "湖北省仙桃市", "广东省深圳市宝安区"]
INSTITUTIONS = ["蔡甸区社会福利院", "消泗乡敬老院", "侏儒山街道福利院"]


def _plain_paid(d: District):
    p = d.people
    return (p["kind"] == "plain").to_numpy() & (p["care"] | p["living"]).to_numpy()


def drop_own_card(d: District, pos) -> None:
    """Remove the registered cards held by the people at ``pos`` (their own cards)."""
    ids = set(d.people.loc[np.atleast_1d(pos), "person_id"])
    d.cards = d.cards[~d.cards["holder_id"].isin(ids)].reset_index(drop=True)


def pre_events(d: District, k: int) -> None:
    """Stops handled correctly, new approvals with back-pay, card replacements, care homes."""
    p, rng = d.people, d.rng
    day = lambda n: rng.integers(0, 27, n).astype("timedelta64[D]")  # noqa: E731
    # deaths: paid for the month of death, stopped after, roster cancelled
    for i in d.pick(2 * k, _plain_paid(d)):
        m = int(rng.integers(0, 23))
        died = base.month_start([m])[0] + day(1)[0]
        p.loc[i, ["end_ix", "dibao_end"]] = m
        p.loc[i, ["cert_status", "cert_cancelled", "died_on"]] = ["注销", died + np.timedelta64(12, "D"), died]
        d.deaths.append((i, died, "公安户籍注销"))
        d.decoy("death_in_paid_month", "person", p.loc[i, "person_id"])
    # moves out of the district: stopped after the move month, roster 迁出
    for i in d.pick(k, _plain_paid(d)):
        m = int(rng.integers(0, 23))
        p.loc[i, ["end_ix", "dibao_end"]] = m
        p.loc[i, "cert_status"] = "迁出"
        d.moves.append((i, base.month_start([m])[0] + day(1)[0], OUTSIDE[int(rng.integers(0, 5))]))
        d.decoy("moved_out_stopped", "person", p.loc[i, "person_id"])
    # moves within the district: nothing stops
    town = p[["township", "village"]].drop_duplicates().to_numpy()
    for i in d.pick(k, _plain_paid(d)):
        t, v = town[int(rng.integers(0, len(town)))]
        d.moves.append((i, base.month_start([int(rng.integers(0, 23))])[0] + day(1)[0],
                        f"武汉市蔡甸区{t}{v}"))
        d.decoy("move_within_district", "person", p.loc[i, "person_id"])
    # new approvals in the review period; half approved late and back-paid
    for j, i in enumerate(d.pick(2 * k, _plain_paid(d))):
        s = int(rng.integers(1, 16))
        p.loc[i, "start_ix"] = s
        p.loc[i, "cert_issued"] = base.month_start([s])[0] + day(1)[0]
        p.loc[i, "dibao_start"] = s
        if j % 2:
            p.loc[i, "approved_on"] = base.month_start([s + int(rng.integers(2, 5))])[0] + np.timedelta64(9, "D")
            d.decoy("backpay_after_approval", "person", p.loc[i, "person_id"])
        else:
            p.loc[i, "approved_on"] = base.month_start([s])[0] + np.timedelta64(2, "D")
    # card replaced: old card closed, new card from the same day
    for i in d.pick(k, _plain_paid(d) & (p["guardian_id"] == "").to_numpy()):
        sw = base.month_start([int(rng.integers(3, 21))])[0] + np.timedelta64(3, "D")
        old = p.loc[i, "acct"]
        bank = base.APPROVED_BANKS[int(rng.integers(0, 3))]
        new = base.luhn_cards(rng, np.array([base.BANK_BINS[bank]]))[0]
        row = d.cards[d.cards["account_no"] == old].iloc[0].to_dict()
        d.cards.loc[d.cards["account_no"] == old, ["closed_on", "card_status"]] = [sw, "销户"]
        row.update(account_no=new, bank=bank, opened_on=sw, closed_on=np.datetime64("NaT"), card_status="正常")
        d.extra_cards.append(row)
        p.loc[i, ["acct2", "switch_on"]] = [new, sw]
        d.decoy("card_replaced", "person", p.loc[i, "person_id"])
    # custody: long custody stops payment; short custody (< a month) does not
    for i in d.pick(k, _plain_paid(d)):
        m = int(rng.integers(1, 22))
        p.loc[i, ["end_ix", "dibao_end"]] = m
        d.custody.append((i, base.month_start([m])[0] + np.timedelta64(9, "D"), np.datetime64("2024-06-30")))
        d.decoy("custody_stopped", "person", p.loc[i, "person_id"])
    for i in d.pick(k, _plain_paid(d)):
        m = int(rng.integers(0, 24))
        a = base.month_start([m])[0]
        d.custody.append((i, a + np.timedelta64(4, "D"), a + np.timedelta64(20, "D")))
        d.decoy("custody_short", "person", p.loc[i, "person_id"])
    # renewed certificate: an expired row and the renewed active row
    for i in d.pick(k, _plain_paid(d)):
        m = int(rng.integers(2, 20))
        start = base.month_start([m])[0]
        old = p.loc[i].to_dict()
        old.update(cert_status="过期", cert_expires=start - np.timedelta64(1, "D"),
                   cert_issued=start - np.timedelta64(3650, "D"))
        d.extra_roster.append(old)
        p.loc[i, "cert_issued"] = start
        p.loc[i, "cert_expires"] = start + np.timedelta64(3652, "D")
        d.decoy("cert_renewed", "person", p.loc[i, "person_id"])
    # benefits: a non-exclusive one held together; an exclusive one held instead
    for i in d.pick(k, _plain_paid(d) & p["care"].to_numpy()):
        d.other.append((i, "老年人护理补贴", -12, 99, 10000))
        d.decoy("non_exclusive_benefit", "person", p.loc[i, "person_id"])
    for i in d.pick(k, _plain_paid(d) & p["care"].to_numpy() & ~p["living"].to_numpy()):
        p.loc[i, "care"] = False
        d.other.append((i, "工伤保险生活护理费", -30, 99, 150000))
        d.decoy("exclusive_benefit_instead", "person", p.loc[i, "person_id"])
    for i in d.pick(k, _plain_paid(d) & p["care"].to_numpy() & ~p["living"].to_numpy()):
        p.loc[i, "care"] = False
        d.custody.append((i, np.datetime64("2019-03-11"), np.datetime64("2025-03-10")))
        d.decoy("stop_event_not_enrolled", "person", p.loc[i, "person_id"])
    _care_homes(d, k)
    _id_decoys(d, k)


def _care_homes(d: District, k: int) -> None:
    """Residents of care homes paid into the institution's account (集中供养机构)."""
    p, rng = d.people, d.rng
    mask = _plain_paid(d) & p["care"].to_numpy() & ~p["living"].to_numpy()
    heads = _adults(d, len(INSTITUTIONS))
    for h, inst in enumerate(INSTITUTIONS):
        res = d.pick(max(3, k // 2 + 1), mask)
        acct = base.luhn_cards(rng, np.array([base.BANK_BINS["中国农业银行"]]))[0]
        drop_own_card(d, res)
        d.extra_cards.append(dict(
            holder_id=heads.loc[h, "person_id"], holder_name=heads.loc[h, "name"],
            phone=d._spare_phones.pop(), address=f"武汉市蔡甸区{inst}", township=p.loc[res[0], "township"],
            account_no=acct, bank="中国农业银行", opened_on=np.datetime64("2012-05-20"),
            closed_on=np.datetime64("NaT"), card_status="正常", institution=inst, opened_by=""))
        p.loc[res, "acct"] = acct
        p.loc[res, "guardian_id"] = heads.loc[h, "person_id"]
        p.loc[res, "guardian_name"] = heads.loc[h, "name"]
        p.loc[res, "kind"] = "carehome"
        d.decoy("institution_account", "account", acct)
        d.decoy("care_home_resident", "person", p.loc[res, "person_id"])


def _id_decoys(d: District, k: int) -> None:
    """Valid IDs with the retired 420121 code or 420114 for people born before 1992."""
    p = d.people
    by = pd.DatetimeIndex(p["birth"]).year.to_numpy()
    for i in d.pick(k, _plain_paid(d) & (p["person_id"].str[:6] == "420121").to_numpy()):
        d.decoy("id_retired_code_420121", "person", p.loc[i, "person_id"])
    m = _plain_paid(d) & (p["person_id"].str[:6] == "420114").to_numpy() & (by < 1965)
    for i in d.pick(min(k, int((m & ~d.used).sum())), m):
        d.decoy("id_420114_born_before_1992", "person", p.loc[i, "person_id"])
    for kind in ("household", "ward", "hh_ward"):
        ids = p.loc[(p["kind"] == kind).to_numpy() & (p["care"] | p["living"]).to_numpy(), "person_id"]
        d.used[(p["kind"] == kind).to_numpy()] = True
        d.decoy({"household": "household_shares_address_phone", "ward": "guardian_collects",
                 "hh_ward": "guardian_collects"}[kind], "person", ids)
    for gid, accts in p[p["kind"] == "hh_ward"].groupby("guardian_id")["acct"]:
        d.decoy("guardian_account_one_household", "account", accts.iloc[0])
    # three households of one village registered at one shared address
    vc = p.loc[_plain_paid(d) & ~d.used, "village_code"].value_counts()
    for v in vc[vc >= 3].index[: max(2, k // 3)]:
        ix = d.pick(3, _plain_paid(d) & (p["village_code"] == v).to_numpy())
        p.loc[ix, "address"] = p.loc[ix[0], "village"] + "村委会旁集体宿舍"
        d.decoy("shared_address_only", "person", p.loc[ix, "person_id"])


def post_events(d: District, k: int) -> None:
    """Payout-level decoys: failed then re-paid, subsidy aliases, bank branch names."""
    from .payouts import rows_of
    p, rng = d.people, d.rng
    po = d.payouts
    new = []
    for i in d.pick(k, _plain_paid(d) & (p["start_ix"] <= 0).to_numpy() & (p["end_ix"] > 23).to_numpy()):
        m = int(rng.choice([x for x in range(0, 22) if x not in base.PUBLISHED_MONTHS]))
        r = rows_of(d, p.loc[i, "person_id"], None, [m])[0]
        row = po.loc[r].to_dict()
        po.loc[r, "status"] = "失败"
        row["paid_on"] = row["paid_on"] + np.timedelta64(10, "D")
        new.append(row)
        d.decoy("failed_then_repaid", "person", p.loc[i, "person_id"])
    d.payouts = pd.concat([po, pd.DataFrame(new)], ignore_index=True)
    aliases = {"care": ["护理补贴", "重残护理补贴"], "living": ["残疾人生活补贴", "困难生活补贴"]}
    for sub, names in aliases.items():
        for j, alias in enumerate(names):
            m = (d.payouts["sub"] == sub).to_numpy() & (d.payouts["period_ix"] == 3 + j).to_numpy()
            d.payouts.loc[m, "item"] = alias
            d.decoy("subsidy_alias", "subsidy", alias)

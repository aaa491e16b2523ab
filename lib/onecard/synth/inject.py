"""Labelled anomalies: every rule of ``RULES.md``, each case with all the rules it breaks.

Each ``_inject_*`` function picks unused baseline people (full-period, single
household, no guardian), changes the district and records truth rows in
``d.truth`` as ``(rule_id, subject_type, subject_id, related_ids, sub, start_ix,
end_ix)`` with ``sub`` in ``living``/``care``/``""``. Truth depending on the
final payouts is deferred to :func:`resolve_deferred`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import base
from .payouts import rows_of
from .people import District

UNLISTED = ["残疾人专项补助金", "残疾人节日慰问金", "残疾儿童康复救助金", "残疾人一次性临时救助",
            "残疾人精准康复补助", "残疾人辅助器具补贴", "残疾人家庭无障碍改造补助", "残疾人就业创业补助"]
FREE_MONTHS = [m for m in range(0, 22) if m not in base.PUBLISHED_MONTHS]


def _full(d: District, sub: str | None = None, extra=None) -> np.ndarray:
    """Mask: plain people paid all 24 months (for ``sub`` if given)."""
    p = d.people
    m = ((p["kind"] == "plain") & (p["start_ix"] <= 0) & (p["end_ix"] > 23)).to_numpy().copy()
    m = m & (p[sub] if sub else (p["care"] | p["living"])).to_numpy()
    if sub == "living" or sub is None:
        m = m & ~(p["living"] & (p["dibao_start"] > 0)).to_numpy()
    return m if extra is None else m & extra


def _sub_of(d: District, i) -> str:
    return "care" if d.people.loc[i, "care"] else "living"


def _t(d, rule, stype, sid, sub="", a=0, b=23, rel=""):
    d.truth.append((rule, stype, str(sid), rel, sub, int(a), int(b)))


def _month(d: District) -> int:
    return int(d.rng.choice(FREE_MONTHS))


def inject_payment_rules(d: District, k: int) -> None:
    """Split, short, over, duplicate, late, missed, failed, fee, unlisted item."""
    p, rng = d.people, d.rng
    po = d.payouts
    new, drop = [], []
    for rule in ("SPLIT_PAYMENT", "SHORT_PAYMENT", "OVER_STANDARD", "DUPLICATE_PAYMENT",
                 "LATE_PAYMENT", "MISSED_MONTH", "FAILED_NOT_RESOLVED"):
        sub_mask = _full(d, "living") if rule == "OVER_STANDARD" else _full(d)
        for i in d.pick(k, sub_mask):
            pid, sub = p.loc[i, "person_id"], ("living" if rule == "OVER_STANDARD" else _sub_of(d, i))
            m = _month(d) if rule != "OVER_STANDARD" else int(rng.choice([x for x in FREE_MONTHS if x < 12]))
            if rule in ("LATE_PAYMENT", "FAILED_NOT_RESOLVED"):
                m = int(rng.choice([x for x in FREE_MONTHS if x < 16]))
            r = rows_of(d, pid, sub, [m])[0]
            std = int(d.std[sub][m])
            row = po.loc[r].to_dict()
            if rule == "SPLIT_PAYMENT":
                part = (std * 2 // 5) // 100 * 100
                po.loc[r, "amount"] = po.loc[r, "net"] = part
                row.update(amount=std - part, net=std - part, paid_on=row["paid_on"] + np.timedelta64(2, "D"))
                new.append(row)
            elif rule == "SHORT_PAYMENT":
                po.loc[r, "amount"] = po.loc[r, "net"] = std - 2000
            elif rule == "OVER_STANDARD":
                over = int(d.std[sub].max())
                over = over if over > std else std + 2000
                po.loc[r, "amount"] = po.loc[r, "net"] = over
            elif rule == "DUPLICATE_PAYMENT":
                row.update(paid_on=row["paid_on"] + np.timedelta64(1, "D"))
                new.append(row)
            elif rule == "LATE_PAYMENT":
                po.loc[r, "paid_on"] = base.month_start([m + 3])[0] + np.timedelta64(11, "D")
            elif rule == "MISSED_MONTH":
                drop.append(r)
            elif rule == "FAILED_NOT_RESOLVED":
                po.loc[r, "status"] = "失败"
            _t(d, rule, "person", pid, sub, m, m)
    # fees: only the 2021 .xls files (街道 townships 001-008) carry 实发金额/手续费
    town_ok = p["township_code"].str[-3:].isin([f"00{j}" for j in range(1, 9)]).to_numpy()
    for i in d.pick(k, _full(d, None, town_ok)):
        pid, sub = p.loc[i, "person_id"], _sub_of(d, i)
        months = [12, 13, 14]
        for r in rows_of(d, pid, sub, months):
            po.loc[r, "fee"] = 200
            po.loc[r, "net"] = po.loc[r, "amount"] - 200
        _t(d, "FEE_DEDUCTED", "person", pid, sub, 12, 14)
    # items outside the policy list
    for j, i in enumerate(d.pick(max(k, len(UNLISTED)), _full(d))):
        r = rows_of(d, p.loc[i, "person_id"], None, [_month(d)])[0]
        row = po.loc[r].to_dict()
        row.update(item=UNLISTED[j % len(UNLISTED)], amount=20000, net=20000, sub="other")
        new.append(row)
        if j < len(UNLISTED):
            _t(d, "UNLISTED_ITEM", "subsidy", UNLISTED[j], "", row["period_ix"], row["period_ix"])
    d.payouts = pd.concat([po.drop(index=drop), pd.DataFrame(new)], ignore_index=True)


def inject_stop_rules(d: District, k: int) -> None:
    """Paid after death / move / certificate end / in custody; stale roster; exclusive benefit."""
    p, rng = d.people, d.rng
    for j, i in enumerate(d.pick(k, _full(d))):  # death
        recent = j % 2 == 0
        died = (np.datetime64("2021-11-22") + np.timedelta64(int(rng.integers(0, 6)), "D") if recent
                else base.month_start([int(rng.integers(3, 19))])[0] + np.timedelta64(int(rng.integers(0, 27)), "D"))
        m = int(base.month_index([died])[0])
        d.deaths.append((i, died, "火化信息"))
        d.deferred.append(("PAID_AFTER_DEATH", i, m + 1, 23, None))
        if not recent:
            _t(d, "ROSTER_STATUS_STALE", "person", p.loc[i, "person_id"], "", m, m)
    for j, i in enumerate(d.pick(k, _full(d))):  # move out
        recent = j % 2 == 0
        moved = (np.datetime64("2021-11-23") + np.timedelta64(int(rng.integers(0, 5)), "D") if recent
                 else base.month_start([int(rng.integers(3, 19))])[0] + np.timedelta64(int(rng.integers(0, 27)), "D"))
        m = int(base.month_index([moved])[0])
        d.moves.append((i, moved, "湖北省孝感市汉川市" if j % 3 else "武汉市江夏区"))
        d.deferred.append(("PAID_AFTER_MOVE", i, m + 1, 23, None))
        if not recent:
            _t(d, "ROSTER_STATUS_STALE", "person", p.loc[i, "person_id"], "", m, m)
    for i in d.pick(k, _full(d)):  # dead, payments stopped, roster not updated
        m = int(rng.integers(2, 19))
        died = base.month_start([m])[0] + np.timedelta64(int(rng.integers(0, 27)), "D")
        d.deaths.append((i, died, "医保停保"))
        d.ent.loc[d.ent["pos"] == i, "end_ix"] = m
        p.loc[i, "dibao_end"] = m
        pid = p.loc[i, "person_id"]
        d.payouts = d.payouts[~((d.payouts["person_id"] == pid) & (d.payouts["period_ix"] > m))]
        _t(d, "ROSTER_STATUS_STALE", "person", pid, "", m, m)
    for j, i in enumerate(d.pick(k, _full(d))):  # certificate expired or cancelled
        m = int(rng.integers(5, 18))
        end = base.month_start([m + 1])[0] - np.timedelta64(1, "D")
        if j % 2:
            p.loc[i, ["cert_status", "cert_expires"]] = ["过期", end]
        else:
            p.loc[i, ["cert_status", "cert_cancelled"]] = ["注销", end - np.timedelta64(9, "D")]
        d.deferred.append(("PAID_AFTER_CERT_END", i, m + 1, 23, None))
    for i in d.pick(k, _full(d)):  # custody spanning whole months
        m = int(rng.integers(1, 15))
        d.custody.append((i, base.month_start([m])[0] + np.timedelta64(10, "D"),
                          base.month_start([m + 6])[0] + np.timedelta64(14, "D")))
        d.deferred.append(("PAID_IN_CUSTODY", i, m + 1, m + 5, None))
    for i in d.pick(k, _full(d, "care")):  # exclusive benefit alongside the care subsidy
        m = int(rng.integers(3, 15))
        prog = "工伤保险生活护理费" if i % 2 else "特困人员护理补贴"
        d.other.append((i, prog, m, 99, 120000 if i % 2 else 30000))
        d.deferred.append(("EXCLUSIVE_BENEFIT", i, m, 23, "care"))


def inject_eligibility_rules(d: District, k: int) -> None:
    """Not enrolled, no approval, grade, 低保, roster, ID and certificate problems."""
    p, rng = d.people, d.rng
    for j, i in enumerate(d.pick(k, _full(d))):  # eligible, no entitlement, nothing paid
        sub = "living" if (j % 2 and p.loc[i, "living"]) else _sub_of(d, i)
        pid = p.loc[i, "person_id"]
        d.ent = d.ent[~((d.ent["pos"] == i) & (d.ent["sub"] == sub))]
        d.payouts = d.payouts[~((d.payouts["person_id"] == pid) & (d.payouts["sub"] == sub))]
        _t(d, "ELIGIBLE_NOT_ENROLLED", "person", pid, sub, 0, 23)
    for i in d.pick(k, _full(d, "care", ~d.people["living"].to_numpy())):  # paid before approval
        s = int(rng.integers(6, 14))
        d.ent.loc[d.ent["pos"] == i, ["start_ix", "approved_on"]] = [
            s, base.month_start([s - 1])[0] + np.timedelta64(20, "D")]
        p.loc[i, "cert_issued"] = base.month_start([0])[0]
        _t(d, "NO_APPROVAL_RECORD", "person", p.loc[i, "person_id"], "care", 0, s - 1)
    grade34 = (p["grade"] >= 3).to_numpy()
    for i in d.pick(k, _full(d, "living", grade34)):  # care wrongly paid to grade 3-4
        s = int(rng.integers(0, 12))
        d.ent = pd.concat([d.ent, pd.DataFrame([dict(
            pos=i, sub="care", start_ix=s, end_ix=99, approved_on=base.month_start([s])[0] + np.timedelta64(3, "D"),
            approver=p.loc[i, "approver"], handler=p.loc[i, "handler"])])], ignore_index=True)
        base_rows = d.payouts[(d.payouts["person_id"] == p.loc[i, "person_id"]) & (d.payouts["period_ix"] >= s)]
        add = base_rows.assign(sub="care", item=d.names["care"],
                               amount=d.std["care"][base_rows["period_ix"].to_numpy()])
        add["net"] = add["amount"]
        d.payouts = pd.concat([d.payouts, add], ignore_index=True)
        _t(d, "INELIGIBLE_GRADE", "person", p.loc[i, "person_id"], "care", s, 23)
    for i in d.pick(k, _full(d, "living")):  # 低保 ended, living subsidy continues
        m = int(rng.integers(6, 18))
        p.loc[i, "dibao_end"] = m
        _t(d, "INELIGIBLE_NO_DIBAO", "person", p.loc[i, "person_id"], "living", m + 1, 23)
    for i in d.pick(k, _full(d)):  # paid but absent from the roster
        p.loc[i, "in_roster"] = False
        _t(d, "NOT_IN_ROSTER", "person", p.loc[i, "person_id"], "", 0, 23)
    for j, i in enumerate(d.pick(k, _full(d))):  # certificate number disagrees
        pid, cert = p.loc[i, "person_id"], p.loc[i, "cert_no"]
        if j % 3 == 0:
            cert = pid[:12] + str((int(pid[12]) + 1) % 10) + pid[13:] + cert[18:]
        elif j % 3 == 1:
            cert = pid + str(p.loc[i, "category"] % 7 + 1) + cert[19]
        else:
            g = p.loc[i, "grade"]
            cert = pid + cert[18] + str({1: 2, 2: 1, 3: 4, 4: 3}[g])
        p.loc[i, "cert_no"] = cert
        _t(d, "CERT_ID_MISMATCH", "person", pid, "", 0, 23)
    for j, i in enumerate(d.pick(k, _full(d, None, (d.people["person_id"].str[-1] != "X").to_numpy()))):
        d.invalid_ids.append((i, j % 3))


def apply_invalid_ids(d: District) -> None:
    """Corrupt the IDs chosen for INVALID_ID everywhere (roster, cards, payouts)."""
    p = d.people
    for i, how in d.invalid_ids:
        old = p.loc[i, "person_id"]
        if how == 0:
            new = old[:17] + ("0" if old[17] != "0" else "1")
        elif how == 1:
            new = base.fix_check([old[:6] + old[6:10] + "0230" + old[14:17]])[0]
        else:
            new = base.fix_check(["429999" + old[6:17]])[0]
        p.loc[i, "person_id"] = new
        p.loc[i, "cert_no"] = new + p.loc[i, "cert_no"][18:]
        d.cards.loc[d.cards["holder_id"] == old, "holder_id"] = new
        d.payouts.loc[d.payouts["person_id"] == old, "person_id"] = new
        _t(d, "INVALID_ID", "person", new, "", 0, 23)

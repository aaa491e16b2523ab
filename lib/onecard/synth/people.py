"""The clean baseline district: certificate holders, households, cards, officials.

The :class:`District` holds internal frames (canonical-ish columns, months as
indices from 2020-01, money in fen). Everything in the baseline is clean for
every rule; events and anomalies are added by ``events.py`` and ``inject.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core import reference
from . import base

OTHER_HUBEI_CODES = np.array(["420111", "420984", "420117", "420102"])


@dataclass
class District:
    """Mutable container of the demo district's internal frames."""

    rng: np.random.Generator
    names: dict
    std: dict
    people: pd.DataFrame = None
    cards: pd.DataFrame = None
    officials: pd.DataFrame = None
    relations: list = field(default_factory=list)
    deaths: list = field(default_factory=list)
    moves: list = field(default_factory=list)
    custody: list = field(default_factory=list)
    other: list = field(default_factory=list)
    extra_roster: list = field(default_factory=list)
    payouts: pd.DataFrame = None
    extra_cards: list = field(default_factory=list)
    truth: list = field(default_factory=list)
    decoys: list = field(default_factory=list)
    used: np.ndarray = None

    def pick(self, k: int, mask) -> np.ndarray:
        """Pick ``k`` unused people (row positions) satisfying ``mask``; marks them used."""
        cand = np.flatnonzero(np.asarray(mask) & ~self.used)
        if len(cand) < k:
            raise RuntimeError(f"demo district too small: need {k}, have {len(cand)}")
        chosen = np.sort(self.rng.choice(cand, k, replace=False))
        self.used[chosen] = True
        return chosen

    def decoy(self, kind: str, subject_type: str, subject_ids) -> None:
        for s in np.atleast_1d(subject_ids):
            self.decoys.append((kind, subject_type, str(s)))


def _birth_dates(rng, n, lo="1930-01-01", hi="2014-12-31") -> np.ndarray:
    a, b = np.datetime64(lo), np.datetime64(hi)
    return a + rng.integers(0, int((b - a).astype(int)), n).astype("timedelta64[D]")


def make_people(d: District, n: int) -> None:
    """Roster of ``n`` certificate holders with households, guardians, 低保 and entitlements."""
    rng = d.rng
    vil = reference.villages()
    pick = rng.integers(0, len(vil), n)
    # every township at least once
    towns = vil.drop_duplicates("township_code").index.to_numpy()
    pick[: len(towns)] = towns
    v = vil.iloc[pick].reset_index(drop=True)
    birth = _birth_dates(rng, n)
    by = pd.DatetimeIndex(birth).year.to_numpy()
    r = rng.random(n)
    region = np.where((by < 1992) & (r < 0.25), "420121",
                      np.where(r > 0.95, OTHER_HUBEI_CODES[rng.integers(0, 4, n)], "420114"))
    male = rng.random(n) < 0.55
    ids = base.make_ids(rng, region, birth, male)
    # re-draw any duplicate IDs
    dup = pd.Series(ids).duplicated().to_numpy()
    while dup.any():
        ids[dup] = base.make_ids(rng, region[dup], birth[dup], male[dup])
        dup = pd.Series(ids).duplicated().to_numpy()
    cat = rng.choice(np.arange(1, 8), n, p=[.08, .10, .03, .45, .12, .12, .10])
    grade = rng.choice(np.arange(1, 5), n, p=[.12, .23, .30, .35])
    p = pd.DataFrame({
        "person_id": ids, "male": male, "birth": birth, "township": v["township"].to_numpy(),
        "township_code": v["township_code"].to_numpy(), "village": v["name"].to_numpy(),
        "village_code": v["code"].to_numpy(), "category": cat, "grade": grade,
    })
    p["name"] = base.unique_names(rng, p["village_code"].to_numpy())
    p["cert_no"] = p["person_id"] + p["category"].astype(str) + p["grade"].astype(str)
    p["cert_issued"] = np.datetime64("2008-01-01") + rng.integers(0, 4300, n).astype("timedelta64[D]")
    p["cert_expires"] = np.datetime64("2024-01-01") + rng.integers(0, 2500, n).astype("timedelta64[D]")
    p["cert_status"] = "正常"
    p["cert_cancelled"] = np.datetime64("NaT", "D")
    p["hukou"] = np.where(rng.random(n) < 0.7, "农村", "城镇")
    p["address"] = (p["township"] + p["village"] + pd.Series(rng.integers(1, 13, n)).astype(str)
                    + "组" + pd.Series(rng.integers(1, 120, n)).astype(str) + "号")
    p["household_id"] = [f"H{c[-6:]}{i:05d}" for i, c in enumerate(p["village_code"])]
    p["guardian_id"] = ""
    p["guardian_name"] = ""
    p["kind"] = "plain"
    # two-member households (same village): share household id, address, phone
    order = np.lexsort((rng.random(n), p["village_code"].to_numpy()))
    vc = p["village_code"].to_numpy()[order]
    lead = []
    i = 0
    while i < n - 1:
        if vc[i] == vc[i + 1] and rng.random() < 0.07:
            lead.append((order[i], order[i + 1]))
            i += 2
        else:
            i += 1
    phones = base.unique_phones(rng, n + 2000)
    p["phone"] = phones[:n]
    d._spare_phones = list(phones[n:])
    for a, b in lead:
        for col in ("household_id", "address", "phone", "hukou"):
            p.loc[b, col] = p.loc[a, col]
        p.loc[[a, b], "kind"] = "household"
    # 低保 by household (both members)
    hh_dibao = pd.Series(rng.random(n) < 0.35, index=p["household_id"]).groupby(level=0).first()
    p["dibao"] = p["household_id"].map(hh_dibao).to_numpy(dtype=bool)
    p["dibao_start"] = rng.integers(-48, -1, n)
    p["dibao_start"] = p.groupby("household_id")["dibao_start"].transform("first")
    p["dibao_end"] = 99
    p["care"] = p["grade"] <= 2
    p["living"] = p["dibao"]
    p["start_ix"] = rng.integers(-60, 0, n)
    p["end_ix"] = 99
    p["approved_on"] = base.month_start(p["start_ix"].to_numpy()) + rng.integers(0, 9, n).astype("timedelta64[D]")
    p["died_on"] = np.datetime64("NaT", "D")
    d.people = p
    d.used = np.zeros(n, dtype=bool)
    _guardians(d, lead)


def _guardians(d: District, pairs) -> None:
    """Guardians (non-roster adults) collect for wards; some guard two wards of one household."""
    p, rng = d.people, d.rng
    young = (pd.DatetimeIndex(p["birth"]).year >= 2004) | p["category"].isin([5, 6])
    cand = np.flatnonzero(young.to_numpy() & (p["kind"] == "plain").to_numpy()
                          & (p["care"] | p["living"]).to_numpy())
    k = max(8, int(len(p) * 0.04))
    wards = rng.choice(cand, min(k, len(cand)), replace=False)
    g = _adults(d, len(wards))
    p.loc[wards, "guardian_id"] = g["person_id"].to_numpy()  # positional, not index-aligned
    p.loc[wards, "guardian_name"] = [p.loc[w, "name"][0] + nm[1:] for w, nm in zip(wards, g["name"])]
    p.loc[wards, "kind"] = "ward"
    # a guardian for both members of some two-member households
    both = [(a, b) for a, b in pairs if (p.loc[a, "care"] or p.loc[a, "living"])
            and (p.loc[b, "care"] or p.loc[b, "living"])][: max(3, len(pairs) // 10)]
    g2 = _adults(d, len(both))
    for (a, b), gid, gname in zip(both, g2["person_id"], g2["name"]):
        p.loc[[a, b], "guardian_id"] = gid
        p.loc[[a, b], "guardian_name"] = p.loc[a, "name"][0] + gname[1:]
        p.loc[[a, b], "kind"] = "hh_ward"


def _adults(d: District, k: int) -> pd.DataFrame:
    """IDs and names of ``k`` invented adults who are not certificate holders."""
    rng = d.rng
    birth = _birth_dates(rng, k, "1950-01-01", "1990-12-31")
    ids = base.make_ids(rng, np.full(k, "420114"), birth, rng.random(k) < 0.5)
    taken = set(d.people["person_id"])
    ids = np.array([i if i not in taken else base.fix_check([i[:14] + "7" + i[15:17]])[0] for i in ids])
    names = base.unique_names(rng, np.zeros(k), set(d.people["name"]))
    return pd.DataFrame({"person_id": ids, "name": names, "birth": birth})


def make_cards(d: District) -> None:
    """One registered card per paid person (guardian's card for wards) at an approved bank."""
    p, rng = d.people, d.rng
    paid = (p["care"] | p["living"]).to_numpy()
    has_g = p["guardian_id"].fillna("") != ""
    holder = np.where(has_g, p["guardian_id"], p["person_id"])
    holder_name = np.where(has_g, p["guardian_name"], p["name"])
    # one card per holder
    df = pd.DataFrame({"holder_id": holder, "holder_name": holder_name, "phone": p["phone"],
                       "address": p["address"], "township": p["township"], "paid": paid})
    df = df[df["paid"]].drop_duplicates("holder_id")
    n = len(df)
    bank = np.array(base.APPROVED_BANKS)[rng.choice(3, n, p=[.55, .3, .15])]
    bins = np.array([base.BANK_BINS[b] for b in bank])
    df["account_no"] = base.luhn_cards(rng, bins)
    df["bank"] = bank
    df["opened_on"] = np.datetime64("2014-01-01") + rng.integers(0, 2000, n).astype("timedelta64[D]")
    df["closed_on"] = np.datetime64("NaT", "D")
    df["card_status"] = "正常"
    df["institution"] = ""
    df["opened_by"] = ""
    d.cards = df.drop(columns=["paid"]).reset_index(drop=True)
    acct = dict(zip(d.cards["holder_id"], d.cards["account_no"]))
    p["acct"] = pd.Series(holder).map(acct).fillna("").to_numpy()
    p["acct2"] = ""
    p["switch_on"] = np.datetime64("NaT", "D")


def make_officials(d: District) -> None:
    """Township approvers (民政专干), federation heads and one cadre per village."""
    rng = d.rng
    t = reference.townships()
    v = reference.villages()
    rows = []
    for code, name in zip(t["code"], t["name"]):
        rows.append((name, "", code, f"{name}办事处", "民政专干"))
        rows.append((name, "", code, f"{name}残疾人联合会", "残联理事长"))
    for _, r in v.iterrows():
        rows.append((r["township"], r["name"], r["township_code"], f"{r['name']}", "残协专干"))
    o = pd.DataFrame(rows, columns=["township", "village", "township_code", "employer", "position"])
    k = len(o)
    a = _adults(d, k)
    o["person_id"] = a["person_id"]
    o["name"] = a["name"]
    o["phone"] = [d._spare_phones.pop() for _ in range(k)]
    o["account_no"] = base.luhn_cards(rng, np.full(k, base.BANK_BINS["中国农业银行"]))
    d.officials = o
    # approver (township) and handler (village cadre) names for entitlements
    appr = o[o["position"] == "民政专干"].set_index("township")["name"]
    hand = o[o["position"] == "残协专干"].set_index(["township", "village"])["name"]
    p = d.people
    p["approver"] = p["township"].map(appr).to_numpy()
    p["handler"] = [hand.get((a, b), "") for a, b in zip(p["township"], p["village"])]
    # each official has 1-2 relatives who are not beneficiaries
    rel = _adults(d, k + k // 2)
    owners = np.concatenate([np.arange(k), rng.integers(0, k, k // 2)])
    kinds = np.array(["配偶", "子女", "父母", "兄弟姐妹"])
    for oi, rid, kd in zip(owners, rel["person_id"], kinds[rng.integers(0, 4, len(owners))]):
        d.relations.append((o.loc[oi, "person_id"], rid, kd))
    d.banks = pd.DataFrame({
        "bank": ["中国农业银行", "中国邮政储蓄银行", "中国建设银行", "中国工商银行"],
        "approved_from": pd.to_datetime(["2013-01-01", "2013-01-01", "2016-07-01", "2013-01-01"]),
        "approved_to": pd.to_datetime([None, None, None, "2019-12-31"]),
    })

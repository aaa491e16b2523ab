"""An independent scenario builder: canonical frames with known findings.

``build(seed, ...)`` returns a :class:`Scenario`: canonical tables (as intake
would produce them, with provenance), the policy, the review period, the truth
(``rule_id, subject_id, subsidy`` of every injected case) and the subjects of
the legitimate look-alikes (which no rule may flag). It does not use the demo
generator (``onecard.synth``); its proportions differ on purpose.

Every rule of ``RULES.md`` that the rule modules own gets ``cases`` positive
cases per seed, and every "must NOT flag" row of ``RULES.md`` gets look-alikes.
Each case uses a fresh person, so cases never interact.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from onecard.policy import DEFAULT_POLICY, load_policy

LIVING, CARE = "困难残疾人生活补贴", "重度残疾人护理补贴"
START, END = pd.Period("2020-01", "M"), pd.Period("2021-12", "M")
MONTHS = list(pd.period_range(START, END, freq="M"))
TOWNS = {"蔡甸街道": ["星光村", "新农村"], "奓山街道": ["星光村", "白鹤村"], "永安街道": ["东湖村"],
         "索河街道": ["索河村", "张湾村"]}
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]

OWN_RULES = [
    "SPLIT_PAYMENT", "UNLISTED_ITEM", "LATE_PAYMENT", "SHORT_PAYMENT", "MISSED_MONTH",
    "ELIGIBLE_NOT_ENROLLED", "OVER_STANDARD", "INELIGIBLE_GRADE", "INELIGIBLE_NO_DIBAO",
    "PAID_AFTER_DEATH", "PAID_AFTER_MOVE", "PAID_AFTER_CERT_END", "PAID_IN_CUSTODY",
    "DUPLICATE_PAYMENT", "EXCLUSIVE_BENEFIT", "NOT_IN_ROSTER", "ACCOUNT_NOT_REGISTERED",
    "DISCLOSURE_MISMATCH", "NO_APPROVAL_RECORD", "ROSTER_STATUS_STALE", "FAILED_NOT_RESOLVED",
    "MULTIPLE_ACCOUNTS", "BANK_NOT_APPROVED", "FEE_DEDUCTED", "OFFICIAL_RECIPIENT", "INVALID_ID",
    "CERT_ID_MISMATCH",
]


def check_digit(id17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(id17, W)) % 11]


def make_id(region: str, born: str, seq: int) -> str:
    body = f"{region}{born}{seq:03d}"
    return body + check_digit(body)


def _policy_path() -> Path:
    """A policy extending the baseline: care extended to grade-3 intellectual/mental."""
    d = Path(tempfile.mkdtemp(prefix="onecard_policy_"))
    (d / "scenario.yaml").write_text(
        f"extends: {DEFAULT_POLICY}\n"
        "meta: {title: 测试情景政策, region: 测试, verified: false}\n"
        "subsidies:\n  care:\n    eligibility:\n      extended:\n"
        "        - {grades: [3], categories: [5, 6]}\n", encoding="utf-8")
    return d / "scenario.yaml"


@dataclass
class Scenario:
    tables: dict
    policy: object
    period: tuple
    truth: pd.DataFrame
    lookalikes: set = field(default_factory=set)
    quarantine: pd.DataFrame | None = None

    def context(self, params=None):
        """A fresh RuleContext (quarantined rows in ``extras['quarantine']``)."""
        from onecard.rules import RuleContext
        return RuleContext(dict(self.tables), self.policy, self.period, params or {},
                           {"quarantine": self.quarantine})


class _Builder:
    def __init__(self, seed: int, living_share: float, with_entitlements: bool):
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.living_share = living_share
        self.with_ent = with_entitlements
        self.n = 0
        self.t = {k: [] for k in ("payouts", "roster", "entitlements", "cards", "deaths", "moves",
                                  "custody", "dibao", "other_benefits", "officials", "banks",
                                  "disclosures", "quarantine")}
        self.truth, self.look = [], set()
        self.by_person = {}  # pid -> that person's payout rows (the same dicts as in payouts)
        self.policy = load_policy(_policy_path())

    # -- people ---------------------------------------------------------------
    def new_id(self, region="420114", year=None) -> str:
        self.n += 1
        year = year or int(self.rng.integers(1950, 1995))
        born = f"{year}{int(self.rng.integers(1, 13)):02d}{int(self.rng.integers(1, 29)):02d}"
        return make_id(region, born, self.n % 1000)

    def person(self, grade=1, category=4, living=False, care=None, region="420114", year=None,
               roster=True, card=True, ent_start=None, approved_on="2018-12-20", pay=True,
               bank="中国农业银行", subsidy_text=None, town=None) -> dict:
        pid = self.new_id(region, year)
        town = town or list(TOWNS)[int(self.rng.integers(0, len(TOWNS)))]
        village = TOWNS[town][int(self.rng.integers(0, len(TOWNS[town])))]
        name = "测" + "".join("零一二三四五六七八九"[int(c)] for c in str(self.n))
        acct = f"62284800{self.n:010d}"
        p = dict(pid=pid, name=name, town=town, village=village, grade=grade, category=category,
                 acct=acct, hukou="rural" if self.n % 3 else "urban")
        if care is None:
            care = grade in (1, 2)
        p["items"] = [s for s, on in ((CARE, care), (LIVING, living)) if on]
        if roster:
            self.t["roster"].append(dict(person_id=pid, name=name, cert_no=f"{pid}{category}{grade}",
                                         category=category, grade=grade, cert_status="active",
                                         hukou_type=p["hukou"], township=town, village=village,
                                         household_id=f"H{self.n}", extract_date="2021-12-31",
                                         cert_expires=pd.Timestamp("2026-02-01") if self.n % 2 else None))
        if card:
            self.t["cards"].append(dict(account_no=acct, holder_id=pid, holder_name=name, bank=bank,
                                        opened_on="2015-06-01"))
        if living:
            self.t["dibao"].append(dict(person_id=pid, name=name, program="低保", start_month="2018-01"))
        for s in p["items"]:
            if self.with_ent:
                self.t["entitlements"].append(dict(person_id=pid, name=name, subsidy=s,
                                                   start_month=ent_start or "2018-01",
                                                   approved_on=approved_on))
            if pay:
                for m in MONTHS:
                    if ent_start and m < pd.Period(ent_start, "M"):
                        continue
                    self.pay(p, s, m, bank=bank, subsidy_text=subsidy_text if s == CARE else None)
        return p

    def std(self, s, m) -> int:
        return self.policy.standard_fen(s, m)

    def pay(self, p, s, m, amount=None, paid_on=None, status="paid", acct=None, bank="中国农业银行",
            subsidy_text=None, **kw):
        m = pd.Period(m, "M")
        row = dict(person_id=p["pid"], name=p["name"], subsidy=subsidy_text or s, period=m,
                   amount=self.std(s, m) if amount is None else amount,
                   paid_on=paid_on or (m.to_timestamp() + pd.Timedelta(days=14)), status=status,
                   account_no=acct or p["acct"], bank=bank, township=p["town"], village=p["village"])
        row["fee_cut"] = 0
        row.update(kw)
        self.t["payouts"].append(row)
        self.by_person.setdefault(p["pid"], []).append(row)
        return row

    def drop_pay(self, p, s=None, cond=lambda m: True):
        gone = {id(r) for r in self.rows(p, s, cond)}
        self.by_person[p["pid"]] = [r for r in self.by_person.get(p["pid"], []) if id(r) not in gone]
        self.t["payouts"] = [r for r in self.t["payouts"] if id(r) not in gone]

    def rows(self, p, s=None, cond=lambda m: True):
        return [r for r in self.by_person.get(p["pid"], [])
                if (s is None or r["subsidy"] == s) and cond(r["period"])]

    def roster_row(self, p):
        return [r for r in self.t["roster"] if r["person_id"] == p["pid"]][0]

    def hit(self, rule, subject, subsidy=""):
        self.truth.append((rule, subject, subsidy))

    def m(self, lo=0, hi=23) -> pd.Period:
        return MONTHS[int(self.rng.integers(lo, hi + 1))]


def _inject(b: _Builder, cases: int) -> None:  # noqa: C901 - one block per rule, read top-down
    rng = b.rng
    for _ in range(cases):
        # PAID_AFTER_DEATH: died mid-2020, paid on; roster cancelled at death
        p = b.person(grade=1)
        died = pd.Timestamp(f"2020-{int(rng.integers(3, 10)):02d}-{int(rng.integers(1, 28)):02d}")
        b.t["deaths"].append(dict(person_id=p["pid"], name=p["name"], died_on=died, source="火化"))
        b.roster_row(p).update(cert_status="cancelled", cert_cancelled_on=died)
        b.hit("PAID_AFTER_DEATH", p["pid"], CARE)
        # look-alike: paid for the month of death only
        q = b.person(grade=2)
        d2 = pd.Timestamp(f"2021-{int(rng.integers(1, 9)):02d}-20")
        b.t["deaths"].append(dict(person_id=q["pid"], name=q["name"], died_on=d2, source="公安"))
        b.roster_row(q).update(cert_status="cancelled", cert_cancelled_on=d2)
        b.drop_pay(q, cond=lambda m, d2=d2: m > d2.to_period("M"))
        b.look.add(q["pid"])

        # PAID_AFTER_MOVE / within-district look-alike
        p = b.person(grade=1)
        mv = pd.Timestamp(f"2020-{int(rng.integers(2, 11)):02d}-10")
        b.t["moves"].append(dict(person_id=p["pid"], name=p["name"], moved_on=mv, destination="湖北省孝感市孝南区"))
        b.roster_row(p).update(cert_status="moved")
        b.hit("PAID_AFTER_MOVE", p["pid"], CARE)
        q = b.person(grade=2)
        b.t["moves"].append(dict(person_id=q["pid"], name=q["name"], moved_on=pd.Timestamp("2020-05-06"),
                                 destination="武汉市蔡甸区奓山街道"))
        b.look.add(q["pid"])

        # PAID_AFTER_CERT_END / renewed-certificate look-alike
        p = b.person(grade=2)
        ce = pd.Timestamp(f"2020-{int(rng.integers(3, 11)):02d}-05")
        b.roster_row(p).update(cert_status="cancelled", cert_cancelled_on=ce)
        b.hit("PAID_AFTER_CERT_END", p["pid"], CARE)
        q = b.person(grade=1)
        r = b.roster_row(q)
        r.update(cert_status="expired", cert_expires=pd.Timestamp("2020-06-30"))
        b.t["roster"].append(dict(r, cert_status="active", cert_expires=pd.Timestamp("2028-06-30"),
                                  cert_issued=pd.Timestamp("2020-07-01")))
        b.look.add(q["pid"])

        # PAID_IN_CUSTODY / short custody look-alike
        p = b.person(grade=1)
        y = int(rng.integers(2020, 2022))
        b.t["custody"].append(dict(person_id=p["pid"], name=p["name"], start=pd.Timestamp(f"{y}-03-01"),
                                   end=pd.Timestamp(f"{y}-06-30")))
        b.hit("PAID_IN_CUSTODY", p["pid"], CARE)
        q = b.person(grade=1)
        b.t["custody"].append(dict(person_id=q["pid"], name=q["name"], start=pd.Timestamp("2021-05-10"),
                                   end=pd.Timestamp("2021-06-20")))
        b.look.add(q["pid"])

        # DUPLICATE_PAYMENT (second township) / failed-then-repaid look-alike
        p = b.person(grade=1)
        m = b.m()
        b.pay(p, CARE, m, township="永安街道", paid_on=m.to_timestamp() + pd.Timedelta(days=20))
        b.hit("DUPLICATE_PAYMENT", p["pid"], CARE)
        q = b.person(grade=2)
        m = b.m(0, 20)
        row = b.rows(q, CARE, lambda x, m=m: x == m)[0]
        row["status"] = "failed"
        b.pay(q, CARE, m, paid_on=m.to_timestamp() + pd.Timedelta(days=40))
        b.look.add(q["pid"])

        # OVER_STANDARD (wrong rate, 2 months) / raised-standard look-alike is the baseline living 50 -> 70
        p = b.person(grade=1, living=False)
        for mm in (b.m(0, 11), b.m(12, 23)):
            b.rows(p, CARE, lambda x, mm=mm: x == mm)[0]["amount"] = 15000
        b.hit("OVER_STANDARD", p["pid"], CARE)
        q = b.person(grade=3, living=True, care=False)
        b.look.add(q["pid"])

        # SHORT_PAYMENT / made-whole-by-back-pay look-alike
        p = b.person(grade=2, living=False)
        b.rows(p, CARE, lambda x: x == MONTHS[5])[0]["amount"] = 6000
        b.hit("SHORT_PAYMENT", p["pid"], CARE)
        q = b.person(grade=2, living=False)
        b.rows(q, CARE, lambda x: x == MONTHS[7])[0]["amount"] = 6000
        b.pay(q, CARE, MONTHS[7], amount=4000, paid_on=pd.Timestamp("2020-11-20"))
        b.look.add(q["pid"])

        # SPLIT_PAYMENT: one month in two on-time halves
        p = b.person(grade=1, living=False)
        m = b.m()
        b.rows(p, CARE, lambda x, m=m: x == m)[0]["amount"] = 5000
        b.pay(p, CARE, m, amount=5000, paid_on=m.to_timestamp() + pd.Timedelta(days=20))
        b.hit("SPLIT_PAYMENT", p["pid"], CARE)
        # look-alike for SPLIT and LATE: new approval, back-pay since application in the first batch
        q = b.person(grade=1, living=False, ent_start="2020-03", approved_on="2020-06-05", pay=False)
        for mm in pd.period_range("2020-03", "2021-12", freq="M"):
            paid = pd.Timestamp("2020-06-15") if mm <= pd.Period("2020-06", "M") else None
            b.pay(q, CARE, mm, paid_on=paid)
        b.look.add(q["pid"])

        # LATE_PAYMENT: three months paid a quarter late, in the middle of the record
        p = b.person(grade=2, living=False)
        k = int(rng.integers(3, 18))
        for mm in MONTHS[k:k + 3]:
            b.rows(p, CARE, lambda x, mm=mm: x == mm)[0]["paid_on"] = MONTHS[k + 5].to_timestamp() + pd.Timedelta(days=9)
        b.hit("LATE_PAYMENT", p["pid"], CARE)

        # MISSED_MONTH / failed-and-returned-to-treasury look-alike
        p = b.person(grade=1, living=False)
        k = int(rng.integers(2, 20))
        b.drop_pay(p, CARE, lambda x, k=k: x in MONTHS[k:k + 2])
        b.hit("MISSED_MONTH", p["pid"], CARE)
        q = b.person(grade=1, living=False)
        row = b.rows(q, CARE, lambda x: x == MONTHS[9])[0]
        row["status"] = "failed"
        b.pay(q, CARE, MONTHS[9], status="to_treasury", paid_on=pd.Timestamp("2020-11-30"))
        b.look.add(q["pid"])

        # ELIGIBLE_NOT_ENROLLED / stop-event and exclusive-benefit look-alikes
        p = b.person(grade=1, living=False, pay=False, card=False)
        b.t["entitlements"] = [e for e in b.t["entitlements"] if e["person_id"] != p["pid"]]
        b.hit("ELIGIBLE_NOT_ENROLLED", p["pid"], CARE)
        q = b.person(grade=1, living=False, pay=False, card=False)
        b.t["entitlements"] = [e for e in b.t["entitlements"] if e["person_id"] != q["pid"]]
        b.t["deaths"].append(dict(person_id=q["pid"], name=q["name"], died_on=pd.Timestamp("2019-12-02")))
        b.roster_row(q).update(cert_status="cancelled", cert_cancelled_on=pd.Timestamp("2019-12-20"))
        b.look.add(q["pid"])
        q = b.person(grade=2, living=False, pay=False, card=False)
        b.t["entitlements"] = [e for e in b.t["entitlements"] if e["person_id"] != q["pid"]]
        b.t["other_benefits"].append(dict(person_id=q["pid"], name=q["name"], program="工伤保险生活护理费",
                                          start_month="2015-01"))
        b.look.add(q["pid"])

        # INELIGIBLE_GRADE (grade 3 limb paid care) / extended grade 3 intellectual look-alike
        p = b.person(grade=3, category=4, living=False, care=True)
        b.hit("INELIGIBLE_GRADE", p["pid"], CARE)
        q = b.person(grade=3, category=5, living=False, care=True)
        b.look.add(q["pid"])

        # INELIGIBLE_NO_DIBAO: 低保 ended 2020-12, living paid on / mid-month coverage look-alike
        p = b.person(grade=3, living=True, care=False)
        [d for d in b.t["dibao"] if d["person_id"] == p["pid"]][0]["end_month"] = "2020-12"
        b.hit("INELIGIBLE_NO_DIBAO", p["pid"], LIVING)
        q = b.person(grade=4, living=True, care=False, ent_start="2020-04", approved_on="2020-04-02")
        [d for d in b.t["dibao"] if d["person_id"] == q["pid"]][0].update(start_month="2020-04",
                                                                          end_month="2021-12")
        b.look.add(q["pid"])

        # EXCLUSIVE_BENEFIT / compatible-benefit look-alike
        p = b.person(grade=1, living=False)
        b.t["other_benefits"].append(dict(person_id=p["pid"], name=p["name"], program="工伤保险生活护理费",
                                          start_month="2021-01", end_month="2021-06"))
        b.hit("EXCLUSIVE_BENEFIT", p["pid"], CARE)
        q = b.person(grade=1, living=False)
        b.t["other_benefits"].append(dict(person_id=q["pid"], name=q["name"], program="老年人护理补贴",
                                          start_month="2020-01"))
        b.look.add(q["pid"])

        # NOT_IN_ROSTER / id_precision_lost look-alike
        p = b.person(grade=1, living=False, roster=False)
        b.hit("NOT_IN_ROSTER", p["pid"])
        q = b.person(grade=1, living=False, roster=False)
        b.t["quarantine"].append(dict(file="残疾人信息.xlsx", sheet="Sheet1", row=900 + b.n, table="roster",
                                      reason="id_precision_lost", detail="",
                                      raw=json.dumps({"姓名": q["name"], "身份证号": float(q["pid"][:17] + "0")},
                                                     ensure_ascii=False)))
        b.look.add(q["pid"])

        # ACCOUNT_NOT_REGISTERED (never registered) / masked look-alike
        p = b.person(grade=1, living=False, card=False)
        b.hit("ACCOUNT_NOT_REGISTERED", p["acct"])
        q = b.person(grade=2, living=False)
        for r in b.rows(q):
            r["account_no"] = r["account_no"][:4] + "**********" + r["account_no"][-4:]
            r["_flags"] = "masked"
        b.look.add(q["pid"])

        # MULTIPLE_ACCOUNTS (second card used in 2021, first never closed) / replacement look-alike
        p = b.person(grade=1, living=False)
        acct2 = "62170000" + p["acct"][8:]
        b.t["cards"].append(dict(account_no=acct2, holder_id=p["pid"], holder_name=p["name"],
                                 bank="中国农业银行", opened_on=pd.Timestamp("2020-12-20")))
        for r in b.rows(p, CARE, lambda x: x.year == 2021 and x.month % 2 == 0):
            r["account_no"] = acct2
        b.hit("MULTIPLE_ACCOUNTS", p["pid"])
        q = b.person(grade=1, living=False)
        acct3 = "62170000" + q["acct"][8:]
        [c for c in b.t["cards"] if c["account_no"] == q["acct"]][0]["closed_on"] = pd.Timestamp("2020-12-31")
        b.t["cards"].append(dict(account_no=acct3, holder_id=q["pid"], holder_name=q["name"],
                                 bank="中国农业银行", opened_on=pd.Timestamp("2021-01-01")))
        for r in b.rows(q, CARE, lambda x: x.year == 2021):
            r["account_no"] = acct3
        b.look.add(q["pid"])

        # BANK_NOT_APPROVED / branch look-alike
        p = b.person(grade=1, living=False, bank="汉川农村商业银行")
        b.hit("BANK_NOT_APPROVED", p["acct"])
        q = b.person(grade=2, living=False, bank="中国农业银行蔡甸支行")
        b.look.add(q["pid"])

        # FEE_DEDUCTED
        p = b.person(grade=1, living=False)
        for r in b.rows(p, CARE, lambda x: x.year == 2021 and x.month <= 3):
            r["fee_cut"] = 200
        b.hit("FEE_DEDUCTED", p["pid"], CARE)

        # OFFICIAL_RECIPIENT / official who receives nothing
        p = b.person(grade=2, living=False)
        b.t["officials"].append(dict(person_id=p["pid"], name=p["name"], employer="某村委会", position="村委委员"))
        b.hit("OFFICIAL_RECIPIENT", p["pid"])
        b.t["officials"].append(dict(person_id=b.new_id(), name="干部" + str(b.n), employer="某街道办"))

        # INVALID_ID (bad check digit) / retired-code and newer-code look-alikes
        p = b.person(grade=1, living=False)
        bad = p["pid"][:17] + ("0" if p["pid"][17] != "0" else "1")
        for tbl in ("payouts", "roster", "entitlements", "cards", "dibao"):
            for r in b.t[tbl]:
                for col in ("person_id", "holder_id"):
                    if r.get(col) == p["pid"]:
                        r[col] = bad
                if tbl == "roster" and r.get("person_id") == bad:
                    r["cert_no"] = bad + r["cert_no"][18:]
        b.hit("INVALID_ID", bad)
        q = b.person(grade=1, living=False, region="420121", year=1962)
        b.look.add(q["pid"])
        q = b.person(grade=2, living=False, region="420114", year=1958)
        b.look.add(q["pid"])

        # CERT_ID_MISMATCH (grade digit wrong)
        p = b.person(grade=3, living=False, care=False, pay=False, card=False)
        r = b.roster_row(p)
        r["cert_no"] = r["cert_no"][:19] + "2"
        b.hit("CERT_ID_MISMATCH", p["pid"])

        # NO_APPROVAL_RECORD: entitlement ended 2020-12, paid on
        if b.with_ent:
            p = b.person(grade=1, living=False)
            [e for e in b.t["entitlements"] if e["person_id"] == p["pid"]][0]["end_month"] = "2020-12"
            b.hit("NO_APPROVAL_RECORD", p["pid"], CARE)

        # ROSTER_STATUS_STALE (died, payments stopped, roster still active) / recent-death look-alike
        p = b.person(grade=1, living=False)
        dd = pd.Timestamp(f"2021-{int(rng.integers(1, 8)):02d}-11")
        b.t["deaths"].append(dict(person_id=p["pid"], name=p["name"], died_on=dd))
        b.drop_pay(p, cond=lambda x, dd=dd: x > dd.to_period("M"))
        b.hit("ROSTER_STATUS_STALE", p["pid"])
        q = b.person(grade=1, living=False)
        b.t["deaths"].append(dict(person_id=q["pid"], name=q["name"], died_on=pd.Timestamp("2021-11-15")))
        b.drop_pay(q, cond=lambda x: x > pd.Period("2021-11", "M"))
        b.look.add(q["pid"])

        # FAILED_NOT_RESOLVED
        p = b.person(grade=2, living=False)
        b.rows(p, CARE, lambda x: x == MONTHS[4])[0].update(status="returned", returned_on=pd.Timestamp("2020-06-03"))
        b.hit("FAILED_NOT_RESOLVED", p["pid"], CARE)

    # UNLISTED_ITEM: distinct unlisted names; alias spellings as look-alikes
    for i in range(cases):
        p = b.person(grade=1, living=False)
        name = ["残疾人慰问金", "助残补助金", "残疾人节日补贴", "托养补助", "康复救助金", "辅具补贴", "就业补助"][i % 7] + ("" if i < 7 else str(i))
        b.pay(p, CARE, MONTHS[10], amount=20000, subsidy_text=name)
        b.hit("UNLISTED_ITEM", name)
        q = b.person(grade=1, living=True, subsidy_text=["护理补贴", "重残护理补贴"][i % 2])
        b.look.add(q["pid"])

    # DISCLOSURE_MISMATCH: one township's 2021-06 care list, masked
    for _ in range(2 * cases):  # ordinary care beneficiaries of that township to manipulate
        b.person(grade=1, town="索河街道")
    listed = [r for r in b.t["payouts"] if r["period"] == pd.Period("2021-06", "M") and r["township"] == "索河街道"
              and r["subsidy"] in (CARE, "护理补贴", "重残护理补贴") and r["status"] == "paid"]
    pids = sorted({r["person_id"] for r in listed} - {t[1] for t in b.truth} - b.look)
    chosen = list(b.rng.permutation(pids))
    for r in listed:
        pid = r["person_id"]
        if pid in chosen[:cases]:  # missing from the published list
            b.hit("DISCLOSURE_MISMATCH", pid, CARE)
            continue
        amt = r["amount"] + (1000 if pid in chosen[cases:2 * cases] else 0)
        if pid in chosen[cases:2 * cases]:
            b.hit("DISCLOSURE_MISMATCH", pid, CARE)
        b.t["disclosures"].append(dict(name=r["name"][0] + "*" + r["name"][2:], person_id=pid[:6] + "********" + pid[-4:],
                                       village=r["village"], subsidy="护理补贴", amount=amt, period="2021-06",
                                       township="索河街道"))
    b.t["banks"] = [dict(bank="中国农业银行", approved_from=pd.Timestamp("2010-01-01")),
                    dict(bank="中国邮政储蓄银行", approved_from=pd.Timestamp("2010-01-01"))]


_KINDS = {"amount": "Int64", "net_amount": "Int64", "fee": "Int64", "grade": "Int64", "category": "Int64",
          "monthly_amount": "Int64"}
_MONTH = {"period", "paid_month", "start_month", "end_month"}
_DATE = {"paid_on", "returned_on", "died_on", "moved_on", "start", "end", "approved_on", "opened_on",
         "closed_on", "cert_issued", "cert_expires", "cert_cancelled_on", "extract_date",
         "approved_from", "approved_to"}


def canonical(table: str, rows: list[dict], file: str) -> pd.DataFrame:
    """Rows -> a canonical frame with intake dtypes and provenance."""
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c in _KINDS:
            df[c] = pd.array(df[c], dtype="Int64") if len(df) else df[c].astype("Int64")
        elif c in _MONTH:
            df[c] = pd.PeriodIndex([pd.Period(x, "M") if pd.notna(x) else pd.NaT for x in df[c]], freq="M")
        elif c in _DATE:
            df[c] = pd.to_datetime(df[c]).astype("datetime64[s]")
        else:
            df[c] = df[c].astype("string")
    if table != "quarantine":
        df["_file"] = file
        df["_sheet"] = "Sheet1"
        df["_row"] = pd.array(range(2, len(df) + 2), dtype="Int64")
        flags = df["_flags"] if "_flags" in df else pd.Series("", index=df.index)
        df["_flags"] = flags.fillna("").astype("string")
    return df


FILES = {"payouts": "一卡通发放明细.xlsx", "roster": "残疾人基础信息.xlsx", "entitlements": "享受名单.xlsx",
         "cards": "一卡通账户.xlsx", "deaths": "死亡人员.xlsx", "moves": "户籍迁出.xlsx", "custody": "服刑人员.xlsx",
         "dibao": "低保名单.xlsx", "other_benefits": "其他待遇.xlsx", "officials": "公职人员.xlsx",
         "banks": "代理银行.xlsx", "disclosures": "公示名单.xlsx", "quarantine": "quarantine.csv"}


def build(seed: int = 0, base: int = 120, cases: int = 5, living_share: float = 0.35,
          with_entitlements: bool = True) -> Scenario:
    """A small district: ``base`` ordinary beneficiaries plus ``cases`` cases of every rule.

    Parameters
    ----------
    seed : int
    base : int
        Ordinary beneficiaries (grades 1-4, paid correctly every month).
    cases : int
        Positive cases per rule (and look-alikes for each "must NOT flag").
    living_share : float
        Share of ordinary beneficiaries on 低保 receiving the living subsidy.
    with_entitlements : bool
        Supply the entitlements table (else entitlement is derived).
    """
    b = _Builder(seed, living_share, with_entitlements)
    for _ in range(base):
        g = int(b.rng.choice([1, 2, 3, 4], p=[0.3, 0.3, 0.2, 0.2]))
        b.person(grade=g, category=int(b.rng.integers(1, 8)) if g < 3 else 4,
                 living=True if g >= 3 else bool(b.rng.random() < living_share))
    _inject(b, cases)
    for r in b.t["payouts"]:
        r["net_amount"] = r["amount"] - r.pop("fee_cut")
    assert len([t for t in b.truth if t[0] == "DISCLOSURE_MISMATCH"]) == 2 * cases, "district too small"
    tables = {t: canonical(t, rows, FILES[t]) for t, rows in b.t.items() if rows}
    if not with_entitlements:
        tables.pop("entitlements", None)
    truth = pd.DataFrame(b.truth, columns=["rule_id", "subject_id", "subsidy"]).drop_duplicates()
    quarantine = tables.pop("quarantine", None)
    return Scenario(tables, b.policy, (START, END), truth, b.look, quarantine)


def score(findings: pd.DataFrame, truth: pd.DataFrame, rules=OWN_RULES) -> pd.DataFrame:
    """Recall and precision per rule: ``rule_id, truth, found, hits, recall, precision``."""
    f = findings[findings["rule_id"].isin(rules)]
    fk = set(zip(f["rule_id"], f["subject_id"].astype(str), f["subsidy"].fillna("").astype(str)))
    tk = set(zip(truth["rule_id"], truth["subject_id"].astype(str), truth["subsidy"].fillna("").astype(str)))
    rows = []
    for r in rules:
        t = {k for k in tk if k[0] == r}
        g = {k for k in fk if k[0] == r}
        hits = len(t & g)
        rows.append(dict(rule_id=r, truth=len(t), found=len(g), hits=hits,
                         recall=hits / len(t) if t else 1.0, precision=hits / len(g) if g else 1.0))
    return pd.DataFrame(rows)

"""Tiny findings built in code for the ledger tests (imported by test_ledger_*.py)."""

from __future__ import annotations

import pandas as pd
from onecard.core.findings import FINDINGS_COLUMNS, finalize, finding_id, ring_id

PERIOD = ("2020-01", "2021-12")
TOWNS = ("蔡甸街道", "永安街道")


def pid(n: int) -> str:
    return f"42011419500101{n:04d}"


def finding(rule="PAID_AFTER_DEATH", subject=None, subsidy="重度残疾人护理补贴", start="2021-01", end="2021-03",
            amount=30000, township="蔡甸街道", related="", subject_type="person", severity="high",
            clause="3.1.3", name="张三丰", evidence=None, run_id="r1"):
    subject = subject or pid(1)
    months = (int(end[:4]) * 12 + int(end[5:])) - (int(start[:4]) * 12 + int(start[5:])) + 1
    return {"finding_id": finding_id(rule, subject, subsidy or "", start), "rule_id": rule, "clause": clause,
                "severity": severity, "township": township, "village": "三义社区", "subject_type": subject_type,
                "subject_id": subject, "related_ids": related, "name": name, "subsidy": subsidy, "period_start": start,
                "period_end": end, "months": months, "amount_fen": amount,
                "evidence": evidence or f"{start}至{end}共{months}个月（来源：x.xlsx 第{amount % 97}行）", "run_id": run_id}


def ring(members, township="蔡甸街道", amount=90000):
    return finding(rule="SHARED_IDENTIFIER_RING", subject=ring_id(members), subsidy=None, start="2020-01",
                   end="2021-12", amount=amount, township=township, related=";".join(members),
                   subject_type="ring", clause="3.3.2", name=None)


def frame(*rows) -> pd.DataFrame:
    return finalize(pd.DataFrame(list(rows), columns=FINDINGS_COLUMNS))


def rule_status(*rules, checked=True) -> pd.DataFrame:
    return pd.DataFrame({"rule_id": list(rules), "checked": [checked] * len(rules)})


ALL_RULES = ("PAID_AFTER_DEATH", "NOT_IN_ROSTER", "ROSTER_STATUS_STALE", "SHARED_IDENTIFIER_RING", "SHORT_PAYMENT",
             "MISSED_MONTH", "POOLED_ACCOUNT", "OVER_STANDARD", "FEE_DEDUCTED")


def upsert(led, findings, run_id="r1", period=PERIOD, towns=TOWNS, rules=ALL_RULES, rows=None):
    from onecard.ledger import upsert_run
    return upsert_run(led, findings, run_id=run_id, period=period, rule_status=rule_status(*rules),
                      townships_with_data=towns, finding_rows=rows)


def snapshot(led):
    """Items without the run-stamp columns, and the full history (decisions)."""
    items = led.frame("SELECT * FROM items ORDER BY item_id").drop(columns=["last_run"])
    hist = led.frame("SELECT * FROM history ORDER BY history_id")
    return items, hist


def walk(led, fid, *statuses, by="张某"):
    """Move an item along ``statuses`` giving each step's required fields."""
    from onecard.ledger import set_status
    values = {"outcome": "经核实情况属实", "money_confirmed_fen": 30000, "responsible_unit": "蔡甸街道残联",
              "responsible_person": "李某", "measure": "停发并追回资金", "deadline": "2021-07-31",
              "money_recovered_fen": 30000, "referral_organ": "纪检监察机关", "referral_date": "2021-06-10",
              "referral_ref": "蔡纪移〔2021〕1号", "closed_on": "2021-07-20", "referral_result": "已立案"}
    from onecard.ledger import FIELD_TABLE
    for s in statuses:
        set_status(led, fid, s, by=by, fields={f: values[f] for f in FIELD_TABLE[s]})

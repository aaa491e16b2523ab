"""A tiny finished run folder built in code, for the explorer tests.

People (township 甲街道 unless noted):
- P1 秦梅兴: holds account A1 (reserved phone PH1); not a beneficiary himself.
- P2 叶玉海, P3 徐军超: beneficiaries paid into A1 (the pooled account). P2 died
  2021-02 and was still paid 2021-02..03.
- P4 阿依古丽·买买提: beneficiary paid into her own A4; her roster phone is PH1,
  so P4 - PH1 - A1 - P1 is the "why linked" path.
- P5 張三丰 (variant character; 乙街道): not in the roster.
Findings: F_POOL (account A1, related P2;P3, high, 7,680.00元), F_DEAD (P2, high,
1,200.00元), F_RING (ring R1 of P1;P2;P3, medium), F_ROSTER (P5, low, 50.00元).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

P1, P2, P3 = "420114195507170231", "420114194007073051", "420114194207151659"
P4, P5 = "65010119800101002X", "420114196001010011"
A1, A4 = "6228481283032266059", "6217002038995781608"
PH1 = "15145130653"
RUN_ID = "T-RUN-1"
F_POOL, F_DEAD, F_RING, F_ROSTER = "a000000000000001", "a000000000000002", "a000000000000003", "a000000000000004"


def _s(values):
    return pd.Series(values, dtype="string")


def make_run(folder: Path, ledger: Path | None = None) -> Path:
    """Write the run folder; ``manifest.json`` names ``ledger`` when given."""
    folder = Path(folder)
    (folder / "analysis").mkdir(parents=True)
    (folder / "intake").mkdir()
    findings = pd.DataFrame({
        "finding_id": _s([F_POOL, F_DEAD, F_RING, F_ROSTER]),
        "rule_id": _s(["POOLED_ACCOUNT", "DEAD_STILL_PAID", "SHARED_IDENTIFIER_RING", "NOT_IN_ROSTER"]),
        "clause": _s(["3.1.4", "3.3.2", "3.3.2", "3.1.1"]),
        "severity": _s(["high", "high", "medium", "low"]),
        "township": _s(["甲街道", "甲街道", "甲街道", "乙街道"]),
        "village": _s(["一村", "一村", "一村", "二村"]),
        "subject_type": _s(["account", "person", "ring", "person"]),
        "subject_id": _s([A1, P2, "R0000000000a1", P5]),
        "related_ids": _s([f"{P2};{P3}", None, f"{P1};{P2};{P3}", None]),
        "name": _s([None, "叶玉海", None, "張三丰"]),
        "subsidy": _s([None, "困难残疾人生活补贴", None, "困难残疾人生活补贴"]),
        "period_start": _s(["2020-01", "2021-02", "2020-01", "2021-01"]),
        "period_end": _s(["2021-12", "2021-03", "2021-12", "2021-01"]),
        "months": pd.array([24, 2, 24, 1], dtype="Int64"),
        "amount_fen": pd.array([768000, 120000, 912000, 5000], dtype="Int64"),
        "evidence": _s([f"持卡人秦梅兴的账户{A1}收取了2名补贴对象的补贴，其中代他人收取7,680.00元。"
                        "（来源：一卡通发放明细_2020年.xlsx/甲街道 第26行；一卡通发放明细_2020年.xlsx/甲街道 第27行）",
                        "死亡后仍发放2个月，共1,200.00元（来源：发放明细.csv 第12行；死亡名单.xlsx/死亡 第3行）",
                        "3户共用账户和手机号（来源：一卡通账户信息.xlsx/账户信息 第5行）",
                        "不在残疾人库=SUM(A1)（来源：发放明细.csv 第40行）"]),
        "run_id": _s([RUN_ID] * 4),
    })
    findings.to_parquet(folder / "analysis" / "findings.parquet", index=False)
    pd.DataFrame({"rule_id": ["POOLED_ACCOUNT", "DEAD_STILL_PAID", "SHARED_IDENTIFIER_RING", "NOT_IN_ROSTER"],
                  "clause": ["3.1.4", "3.3.2", "3.3.2", "3.1.1"],
                  "title_zh": ["多人补贴发入同一账户", "死亡后仍发放", "共用标识关联圈", "不在残疾人库"],
                  "checked": [True] * 4, "missing_tables": [""] * 4, "findings": [1] * 4,
                  "amount_fen": [0] * 4, "seconds": [0] * 4, "error": [""] * 4}
                 ).to_csv(folder / "analysis" / "rule_status.csv", index=False, encoding="utf-8-sig")
    (folder / "analysis" / "meta.json").write_text(json.dumps(
        {"run_id": RUN_ID, "period": ["2020-01", "2021-12"]}, ensure_ascii=False), encoding="utf-8")
    persons = pd.DataFrame({
        "person_id": _s([P1, P2, P3, P4, P5]),
        "name": _s(["秦梅兴", "叶玉海", "徐军超", "阿依古丽·买买提", "張三丰"]),
        "township": _s(["甲街道", "甲街道", "甲街道", "甲街道", "乙街道"]),
        "village": _s(["一村", "一村", "一村", "一村", "二村"]),
        "household": _s([P1, "H2", "H3", "H4", P5]),
        "role": _s(["holder", "beneficiary", "beneficiary", "beneficiary", "beneficiary"]),
        "flags": _s(["", "死亡", "", "", "不在残疾人库"])})
    (folder / "analysis" / "network").mkdir(parents=True, exist_ok=True)
    persons.to_parquet(folder / "analysis" / "network" / "persons.parquet", index=False)
    e = [(f"person:{P1}", f"account:{A1}", "holds", "cards", True, 0),
         (f"account:{A1}", f"phone:{PH1}", "reserved_phone", "cards", True, 0),
         (f"person:{P2}", f"account:{A1}", "paid_into", "payouts", True, 456000),
         (f"person:{P3}", f"account:{A1}", "paid_into", "payouts", True, 312000),
         (f"person:{P4}", f"account:{A4}", "paid_into", "payouts", True, 240000),
         (f"person:{P4}", f"phone:{PH1}", "contact_phone", "roster", False, 0),
         (f"person:{P5}", "address:二村1号", "home_address", "roster", False, 0)]
    edges = pd.DataFrame(e, columns=["u", "v", "kind", "source", "link", "amount_fen"])
    edges = edges.astype({"u": "string", "v": "string", "kind": "string", "source": "string"})
    edges["first"] = pd.Timestamp("2020-01-15")
    edges["last"] = pd.Timestamp("2021-12-15")
    edges["n_rows"] = 1
    edges["rows"] = _s(["一卡通账户信息.xlsx/账户信息:5"] * len(edges))
    edges[["u", "v", "kind", "source", "first", "last", "amount_fen", "n_rows", "rows", "link"]].to_parquet(
        folder / "analysis" / "network" / "edges.parquet", index=False)
    pd.DataFrame({"ring_id": ["R0000000000a1"], "township": ["甲街道"], "village": ["一村"],
                  "households": [3], "persons": [3], "money_fen": [912000], "score": [44.0],
                  "score_households": [30.0], "score_persons": [6.0], "score_money_fen": [8.0],
                  "score_officials": [0.0]}).to_parquet(folder / "analysis" / "rings.parquet", index=False)
    pd.DataFrame({"ring_id": ["R0000000000a1"] * 3, "person_id": [P1, P2, P3],
                  "name": ["秦梅兴", "叶玉海", "徐军超"], "township": ["甲街道"] * 3, "village": ["一村"] * 3,
                  "household": [P1, "H2", "H3"], "role": ["holder", "beneficiary", "beneficiary"],
                  "flags": ["", "死亡", ""]}).to_parquet(folder / "analysis" / "ring_members.parquet", index=False)
    pd.DataFrame({"kind": pd.Series(dtype=str), "value": pd.Series(dtype=str)}).to_parquet(
        folder / "analysis" / "hubs.parquet", index=False)
    months = pd.PeriodIndex(["2021-01", "2021-02", "2021-03"], freq="M")
    pd.DataFrame({"person_id": _s([P2] * 3), "subsidy": _s(["困难残疾人生活补贴"] * 3), "period": months,
                  "standard_fen": pd.array([60000] * 3, dtype="Int64"),
                  "paid_fen": pd.array([60000, 60000, 60000], dtype="Int64"),
                  "failed_fen": [0, 0, 0], "entitled": [True] * 3, "stopped": [False, True, True],
                  "stop_event": _s([None, "death", "death"])}).to_parquet(folder / "analysis" / "recon.parquet")
    pd.DataFrame({"person_id": _s([P2] * 3 + [P4]), "subsidy": _s(["困难残疾人生活补贴"] * 4),
                  "period": pd.PeriodIndex(["2021-01", "2021-02", "2021-03", "2021-01"], freq="M"),
                  "amount": pd.array([60000] * 4, dtype="Int64"), "status": _s(["paid"] * 4),
                  "account_no": _s([A1] * 3 + [A4]), "_file": _s(["发放明细.csv"] * 4), "_sheet": _s([""] * 4),
                  "_row": pd.array([10, 11, 12, 20], dtype="Int64")}).to_parquet(folder / "intake" / "payouts.parquet")
    pd.DataFrame({"person_id": _s([P2]), "subsidy": _s(["困难残疾人生活补贴"]),
                  "start_month": pd.PeriodIndex(["2020-01"], freq="M"), "end_month": pd.PeriodIndex([None], freq="M"),
                  "monthly_amount": pd.array([60000], dtype="Int64"), "status": _s(["在享"]),
                  "_file": _s(["享受名单.xlsx"]), "_sheet": _s(["名单"]), "_row": pd.array([7], dtype="Int64")}
                 ).to_parquet(folder / "intake" / "entitlements.parquet")
    pd.DataFrame({"person_id": _s([P2]), "died_on": pd.to_datetime(["2021-02-03"]), "source": _s(["民政"]),
                  "_file": _s(["死亡名单.xlsx"]), "_sheet": _s(["死亡"]), "_row": pd.array([3], dtype="Int64")}
                 ).to_parquet(folder / "intake" / "deaths.parquet")
    pd.DataFrame({"holder_id": _s([P1]), "holder_name": _s(["秦梅兴"]), "account_no": _s([A1]),
                  "phone": _s([PH1]), "opened_on": pd.to_datetime(["2018-03-01"]), "closed_on": pd.NaT,
                  "_file": _s(["一卡通账户信息.xlsx"]), "_sheet": _s(["账户信息"]), "_row": pd.array([5], dtype="Int64")}
                 ).to_parquet(folder / "intake" / "cards.parquet")
    manifest = {"run_id": RUN_ID}
    if ledger is not None:
        manifest["ledger"] = {"path": str(Path(ledger).resolve())}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    return folder

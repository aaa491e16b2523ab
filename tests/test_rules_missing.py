"""Every rule survives missing or empty optional tables and columns (issue 9, item 6).

One base district (tests/scenarios.py, small) with the optional columns filled in;
each variant (an optional table absent or empty; a table's optional columns absent or
blank) is run once for the rules that read the table, and every rule x variant is its
own test id: no rule may raise, and a rule whose required tables are present stays checked.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd
import pytest

from onecard.rules.catalogue import CATALOGUE, _ensure_loaded, run_catalogue
from scenarios import build

_ensure_loaded()
#: Columns a table cannot lose (its keys, money and dates that define a row).
KEYS = {"payouts": {"person_id", "subsidy", "period", "amount"}, "roster": {"person_id"},
        "entitlements": {"person_id", "subsidy"}, "cards": {"account_no", "holder_id"},
        "deaths": {"person_id", "died_on"}, "moves": {"person_id", "moved_on"},
        "custody": {"person_id", "start", "end"}, "dibao": {"person_id", "program"},
        "other_benefits": {"person_id", "program"}, "officials": {"person_id"},
        "banks": {"bank"}, "disclosures": {"subsidy", "period", "amount"}, "relations": {"official_id", "relative_id"}}
NETWORK_RULES = {r.rule_id for r in CATALOGUE.values() if r.func.__module__.endswith(("network", "network_people"))}


@lru_cache(maxsize=1)
def base_tables() -> tuple:
    sc = build(seed=4, base=40, cases=1)
    t = {k: v.copy() for k, v in sc.tables.items()}
    n = len(t["cards"])
    t["cards"]["phone"] = pd.array([f"1390000{i % 7:04d}" if i % 3 else "" for i in range(n)], dtype="string")
    t["cards"]["card_status"] = pd.array(["正常"] * n, dtype="string")
    t["officials"]["phone"] = pd.array([""] * len(t["officials"]), dtype="string")
    t["officials"]["township"] = t["roster"]["township"].iloc[: len(t["officials"])].to_numpy()
    e = t["entitlements"]
    e["approver"] = pd.array(np.where(np.arange(len(e)) % 2, "曹某", ""), dtype="string")
    e["handler"] = e["person_id"].where(np.arange(len(e)) % 5 == 0).astype("string")
    r = t["roster"]
    r["guardian_id"] = pd.array([pd.NA] * len(r), dtype="string")
    off = t["officials"]["person_id"].iloc[0]
    t["relations"] = pd.DataFrame({"official_id": pd.array([off], dtype="string"),
                                   "relative_id": pd.array([r["person_id"].iloc[0]], dtype="string"),
                                   "relation": pd.array(["子女"], dtype="string"),
                                   "_file": "relations.xlsx", "_sheet": "S", "_row": [2], "_flags": ""})
    return t, sc.policy, sc.period, sc.quarantine


def _variants():
    t, *_ = base_tables()
    out = []
    for name, frame in sorted(t.items()):
        if name != "payouts":
            out += [(name, "absent"), (name, "empty")]
        if [c for c in frame.columns if not c.startswith("_") and c not in KEYS.get(name, set())]:
            out += [(name, "columns_absent"), (name, "columns_blank")]
    return out


def _readers(table: str) -> list[str]:
    return [r.rule_id for r in CATALOGUE.values()
            if table in r.tables or table in r.optional_tables or r.rule_id in NETWORK_RULES]


@lru_cache(maxsize=None)
def run_variant(table: str, how: str):
    from onecard.rules import RuleContext
    t, policy, period, quarantine = base_tables()
    t = dict(t)
    frame = t[table]
    optional = [c for c in frame.columns if not c.startswith("_") and c not in KEYS.get(table, set())]
    if how == "absent":
        del t[table]
    elif how == "empty":
        t[table] = frame.iloc[0:0].copy()
    elif how == "columns_absent":
        t[table] = frame.drop(columns=optional)
    else:
        t[table] = frame.assign(**{c: pd.Series(pd.NA, index=frame.index, dtype=frame[c].dtype)
                                   if frame[c].dtype != object else None for c in optional})
    ctx = RuleContext(t, policy, period, {}, {"quarantine": quarantine})
    findings, status = run_catalogue(ctx, _readers(table))
    return status.set_index("rule_id")


CASES = [(rid, table, how) for table, how in _variants() for rid in _readers(table)]


@pytest.mark.parametrize("rule_id,table,how", CASES, ids=[f"{r}-{t}-{h}" for r, t, h in CASES])
def test_rule_survives(rule_id, table, how):
    st = run_variant(table, how).loc[rule_id]
    assert st["error"] == "", st["error"]
    required_present = not (how == "absent" and table in CATALOGUE[rule_id].tables)
    assert bool(st["checked"]) == required_present


def test_custodian_phone_without_official_phones():
    """Crashed when the officials list had no phones; now only the sharing test applies."""
    from onecard.rules import RuleContext
    t, policy, period, _ = base_tables()
    for officials in (t["officials"].drop(columns="phone"), t["officials"]):
        tt = {**t, "officials": officials}
        f, st = run_catalogue(RuleContext(tt, policy, period), ["CUSTODIAN_PHONE"])
        assert st.iloc[0]["error"] == "" and bool(st.iloc[0]["checked"])
        # seven phones, each on the cards of several households: all found
        assert sorted(f["subject_id"]) == sorted({f"1390000{i % 7:04d}" for i in range(len(t["cards"])) if i % 3})

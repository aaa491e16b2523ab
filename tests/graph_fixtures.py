"""Tiny canonical frames for the network tests (built in code)."""

from __future__ import annotations

import pandas as pd

from onecard.rules import RuleContext


def frame(table: str, rows: list[dict], file: str | None = None) -> pd.DataFrame:
    """A canonical table with provenance: ids/accounts/phones as ``string``."""
    df = pd.DataFrame(rows)
    for c in df.columns:
        if c in ("amount", "net_amount", "fee"):
            df[c] = df[c].astype("Int64")
        elif c in ("period", "paid_month", "start_month", "end_month"):
            df[c] = pd.PeriodIndex(df[c], freq="M")
        elif c in ("paid_on", "opened_on", "died_on", "moved_on", "approved_on"):
            df[c] = pd.to_datetime(df[c])
        else:
            df[c] = df[c].astype("string")
    df["_file"] = file or f"{table}.xlsx"
    df["_sheet"] = "Sheet1"
    df["_row"] = range(2, len(df) + 2)
    df["_flags"] = ""
    return df


def pay(pid, acct, amount=20000, period="2021-01", town="奓山街道", village="星光村", name=None,
        status="paid", subsidy="困难残疾人生活补贴"):
    return {"person_id": pid, "name": name or f"人{pid[-4:]}", "account_no": acct, "amount": amount,
            "period": period, "status": status, "township": town, "village": village,
            "subsidy": subsidy}


def ctx(**tables) -> RuleContext:
    return RuleContext(tables={k: v for k, v in tables.items()}, policy=None,
                       period=(pd.Period("2021-01", "M"), pd.Period("2021-12", "M")))


def pid(n: int) -> str:
    """A synthetic 18-character id (check digit not computed: the graph never validates)."""
    return f"420114198001{n:05d}0"[:18].ljust(18, "0")

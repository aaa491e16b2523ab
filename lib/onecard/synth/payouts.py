"""Monthly payouts of the two main subsidies, expanded from entitlements (vectorised).

Internal payout frame columns: ``person_id, name, sub (living/care), period_ix,
paid_on (datetime64[D]), amount, net, fee (fen), status (成功/失败/退回),
returned_on, account_no, township, village, item (subsidy name as written)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import base
from .people import District


def entitlement_spans(d: District) -> pd.DataFrame:
    """One entitlement per person and subsidy: ``pos, sub, start_ix, end_ix``.

    Living is bounded by the 低保 window; ``end_ix`` 99 means open-ended.
    """
    p = d.people
    out = []
    for sub in ("care", "living"):
        m = p[sub].to_numpy()
        s = p["start_ix"].to_numpy()[m]
        e = p["end_ix"].to_numpy()[m]
        if sub == "living":
            s = np.maximum(s, p["dibao_start"].to_numpy()[m])
            e = np.minimum(e, p["dibao_end"].to_numpy()[m])
        out.append(pd.DataFrame({"pos": np.flatnonzero(m), "sub": sub, "start_ix": s, "end_ix": e}))
    return pd.concat(out, ignore_index=True)


def build_payouts(d: District) -> pd.DataFrame:
    """Clean payouts 2020-01..2021-12: one successful on-time payment per entitled month."""
    p, rng = d.people, d.rng
    ent = d.ent
    lo = np.maximum(ent["start_ix"].to_numpy(), 0)
    hi = np.minimum(ent["end_ix"].to_numpy(), base.N_MONTHS - 1)
    cnt = np.clip(hi - lo + 1, 0, None)
    rep = np.repeat(np.arange(len(ent)), cnt)
    offs = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
    period = lo[rep] + offs
    pos = ent["pos"].to_numpy()[rep]
    sub = ent["sub"].to_numpy()[rep]
    n = len(rep)
    paid_on = base.month_start(period) + rng.integers(7, 25, n).astype("timedelta64[D]")
    # back-pay after a late approval: months before the approval month are paid with it
    appr = p["approved_on"].to_numpy().astype("datetime64[D]")[pos]
    appr_ix = base.month_index(appr)
    back = period < appr_ix
    paid_on = np.where(back, appr + np.timedelta64(5, "D"), paid_on)
    amount = np.where(sub == "care", d.std["care"][period], d.std["living"][period])
    acct = p["acct"].to_numpy()[pos]
    sw = p["switch_on"].to_numpy().astype("datetime64[D]")[pos]
    late_card = ~np.isnat(sw) & (paid_on >= sw)
    acct = np.where(late_card, p["acct2"].to_numpy()[pos], acct)
    out = pd.DataFrame({
        "person_id": p["person_id"].to_numpy()[pos], "name": p["name"].to_numpy()[pos],
        "sub": sub, "period_ix": period, "paid_on": paid_on, "amount": amount,
        "net": amount, "fee": np.zeros(n, dtype=np.int64), "status": "成功",
        "returned_on": np.datetime64("NaT", "D"), "account_no": acct,
        "township": p["township"].to_numpy()[pos], "village": p["village"].to_numpy()[pos],
        "item": np.where(sub == "care", d.names["care"], d.names["living"]),
    })
    return out.sort_values(["period_ix", "township", "village", "person_id", "sub"],
                           kind="stable").reset_index(drop=True)


def rows_of(d: District, pid: str, sub: str | None = None, months=None) -> np.ndarray:
    """Row labels of ``d.payouts`` for one person (optionally one subsidy / months)."""
    po = d.payouts
    m = po["person_id"].to_numpy() == pid
    if sub is not None:
        m = m & (po["sub"].to_numpy() == sub)
    if months is not None:
        m = m & np.isin(po["period_ix"].to_numpy(), list(months))
    return po.index[m].to_numpy()


def add_rows(d: District, rows: list[dict]) -> None:
    """Append payout rows given as dicts (missing columns copied from defaults)."""
    if rows:
        d.payouts = pd.concat([d.payouts, pd.DataFrame(rows)], ignore_index=True)

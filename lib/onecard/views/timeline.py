"""A person's story on one month axis: what was due, what was paid, and what happened.

Used by the township reports (top cases), the evidence packs and the explorer
(issue 12 item 4, issue 13 "A person's story"). Two steps, both pure:

- :func:`person_timeline` assembles the months and events of one person from
  the run's tables (the reconciliation and the canonical intake tables);
- :func:`draw_timeline` draws them: due vs. paid per month as bars, entitlement
  periods as a band, events as labelled markers.

Money is integer fen in the frames; the chart shows 元.
"""

from __future__ import annotations

import pandas as pd

from ..core.fonts import use_cjk_font

__all__ = ["person_timeline", "draw_timeline", "EVENT_LABELS"]

#: Event kinds and their Chinese labels (chart legend, tables).
EVENT_LABELS = {
    "death": "死亡", "move": "户籍迁出", "custody": "服刑羁押", "cert_end": "证件注销或过期",
    "cert_issued": "发证", "card_opened": "开卡", "card_closed": "销户", "failed": "发放失败/退回",
    "reversal": "冲正", "entitlement_start": "享受起始", "entitlement_end": "享受终止",
}

MONTH_COLUMNS = ["period", "subsidy", "due_fen", "paid_fen", "failed_fen", "entitled", "stopped",
                 "stop_event"]
EVENT_COLUMNS = ["period", "kind", "label", "detail", "_file", "_sheet", "_row"]


def _month(values) -> pd.Series:
    """Monthly periods from dates or periods (NaT where missing)."""
    s = pd.Series(values)
    if isinstance(s.dtype, pd.PeriodDtype):
        return s
    return pd.to_datetime(s, errors="coerce").dt.to_period("M")


def _rows(frame: pd.DataFrame | None, column: str, person_id: str) -> pd.DataFrame:
    if frame is None or frame.empty or column not in frame.columns:
        return pd.DataFrame()
    ids = frame[column].astype("string")
    return frame[(ids == person_id).fillna(False).to_numpy(bool)]


def _events(kind: str, periods, details, src: pd.DataFrame) -> pd.DataFrame:
    months = _month(periods).to_numpy()
    detail = (pd.Series(pd.NA, index=range(len(months)), dtype="string") if details is None
              else pd.Series(details, dtype="string").reset_index(drop=True))
    out = pd.DataFrame({"period": months, "kind": kind, "label": EVENT_LABELS[kind],
                        "detail": detail.to_numpy()})
    for col in ("_file", "_sheet", "_row"):
        out[col] = src[col].to_numpy() if col in src.columns else pd.NA
    return out[out["period"].notna()]


def person_timeline(person_id: str, recon: pd.DataFrame | None, tables: dict[str, pd.DataFrame]
                    ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The months and events of one person.

    Parameters
    ----------
    person_id : str
        18-character resident ID.
    recon : DataFrame or None
        The reconciliation table (``onecard.recon.reconcile``; columns ``person_id,
        subsidy, period, standard_fen, paid_fen, failed_fen, entitled, stopped,
        stop_event, death_month, move_month, cert_end_month, custody``).
    tables : dict of str -> DataFrame
        Canonical intake tables (``payouts``, ``entitlements``, ``cards``,
        ``roster``, ``deaths``, ``moves``, ``custody``), any of them absent.

    Returns
    -------
    months : DataFrame
        One row per subsidy x month: ``MONTH_COLUMNS`` (``due_fen`` is the
        standard where an entitlement covers the month and no stop event
        applies, else 0; ``paid_fen`` is the net of successful payments for the
        month, reversals netted, so it can be negative).
    events : DataFrame
        ``EVENT_COLUMNS``: one row per event (death, move, custody, certificate
        issue and end, card opened/closed, failed payment, reversal,
        entitlement start/end), with the source row it comes from.
    """
    months = pd.DataFrame(columns=MONTH_COLUMNS)
    events = []
    if recon is not None and not recon.empty:
        r = _rows(recon, "person_id", person_id)
        if not r.empty:
            entitled = r["entitled"].fillna(False).astype(bool) if "entitled" in r else True
            stopped = r["stopped"].fillna(False).astype(bool) if "stopped" in r else False
            due = r["standard_fen"].fillna(0).astype("int64").where(entitled & ~stopped, 0)
            months = pd.DataFrame({
                "period": r["period"].to_numpy(), "subsidy": r["subsidy"].astype("string").to_numpy(),
                "due_fen": due.to_numpy(), "paid_fen": r["paid_fen"].fillna(0).astype("int64").to_numpy(),
                "failed_fen": r.get("failed_fen", pd.Series(0, index=r.index)).fillna(0).astype("int64").to_numpy(),
                "entitled": pd.Series(entitled, index=r.index).to_numpy(bool),
                "stopped": pd.Series(stopped, index=r.index).to_numpy(bool),
                "stop_event": r.get("stop_event", pd.Series(pd.NA, index=r.index)).astype("string").to_numpy()})
            months = months.sort_values(["period", "subsidy"], kind="stable").reset_index(drop=True)
            failed = months[months["failed_fen"] > 0]
            if not failed.empty:
                events.append(_events("failed", failed["period"], failed["subsidy"], pd.DataFrame()))
    payouts = _rows(tables.get("payouts"), "person_id", person_id)
    if not payouts.empty and "amount" in payouts.columns:
        rev = payouts[(payouts["amount"] < 0).fillna(False).to_numpy(bool)]
        if not rev.empty:
            events.append(_events("reversal", rev["period"], rev.get("subsidy"), rev))
    for table, col, kind, detail in (("deaths", "died_on", "death", "source"),
                                     ("moves", "moved_on", "move", "destination"),
                                     ("custody", "start", "custody", "end"),
                                     ("roster", "cert_issued", "cert_issued", "cert_no"),
                                     ("roster", "cert_cancelled_on", "cert_end", "cert_status"),
                                     ("roster", "cert_expires", "cert_end", "cert_status")):
        rows = _rows(tables.get(table), "person_id", person_id)
        if not rows.empty and col in rows.columns:
            events.append(_events(kind, rows[col], rows[detail] if detail in rows else None, rows))
    cards = _rows(tables.get("cards"), "holder_id", person_id)
    if not payouts.empty and "account_no" in payouts.columns and tables.get("cards") is not None:
        accts = set(payouts["account_no"].dropna().astype(str))
        c = tables["cards"]
        cards = pd.concat([cards, c[c["account_no"].astype("string").isin(accts).fillna(False).to_numpy(bool)]]
                          ).drop_duplicates()
    if not cards.empty:
        for col, kind in (("opened_on", "card_opened"), ("closed_on", "card_closed")):
            if col in cards.columns:
                events.append(_events(kind, cards[col], cards["account_no"], cards))
    ent = _rows(tables.get("entitlements"), "person_id", person_id)
    if not ent.empty:
        for col, kind in (("start_month", "entitlement_start"), ("end_month", "entitlement_end")):
            if col in ent.columns:
                events.append(_events(kind, ent[col], ent.get("subsidy"), ent))
    events = [e for e in events if not e.empty]
    ev = (pd.concat(events, ignore_index=True) if events else pd.DataFrame(columns=EVENT_COLUMNS))
    if not ev.empty:
        ev = ev.drop_duplicates(["period", "kind", "detail"]).sort_values(["period", "kind"], kind="stable")
    return months, ev.reset_index(drop=True)


def draw_timeline(months: pd.DataFrame, events: pd.DataFrame, title: str = "", ax=None):
    """Draw a person's timeline: due vs. paid per month (元), events as markers.

    Parameters
    ----------
    months, events : DataFrame
        From :func:`person_timeline`.
    title : str
        Chart title (already masked for public output by the caller).

    Returns
    -------
    matplotlib.figure.Figure
        Months on the x axis (one tick per month, labels every few months);
        grey bars = due, dark bars = paid (negative when reversals exceed
        payments); events inside the months shown as vertical lines labelled in
        Chinese above the plot (events outside them stay in the events table).
    """
    import matplotlib.pyplot as plt

    use_cjk_font()
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 3.6))
    else:
        fig = ax.figure
    per_month = (months.groupby("period", sort=True)[["due_fen", "paid_fen"]].sum()
                 if not months.empty else pd.DataFrame(columns=["due_fen", "paid_fen"]))
    periods = list(per_month.index)
    if not periods and not events.empty:  # no money months: the events set the axis
        periods = sorted(set(events["period"].dropna()))
    if not periods:
        ax.text(0.5, 0.5, "无发放或事件记录", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    full = pd.period_range(min(periods), max(periods), freq="M")
    per_month = per_month.reindex(full, fill_value=0)
    x = range(len(full))
    ax.bar([i - 0.2 for i in x], per_month["due_fen"] / 100, width=0.4, color="#c8c8c8", label="应发")
    ax.bar([i + 0.2 for i in x], per_month["paid_fen"] / 100, width=0.4, color="#2f5597", label="实发（净额）")
    ax.axhline(0, color="#444444", linewidth=0.6)
    pos = {p: i for i, p in enumerate(full)}
    top = max(float(per_month[["due_fen", "paid_fen"]].to_numpy().max()) / 100, 1.0)
    shown = events[events["period"].isin(pos)].drop_duplicates(["period", "label"])
    for n, (per, label) in enumerate(zip(shown["period"], shown["label"])):
        if per in pos:
            ax.axvline(pos[per], color="#c00000", linestyle="--", linewidth=0.8)
            ax.text(pos[per], top * (1.05 + 0.12 * (n % 3)), label, rotation=0, fontsize=8,
                    ha="center", va="bottom", color="#c00000")
    step = max(1, len(full) // 12)
    ax.set_xticks(list(x)[::step])
    ax.set_xticklabels([p.strftime("%Y-%m") for p in full][::step], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("元")
    ax.set_ylim(top=top * 1.45)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig

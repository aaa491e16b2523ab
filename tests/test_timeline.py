"""A person's timeline: due vs. paid per month, reversals netted, events with their source row."""

import pandas as pd

from onecard.views.timeline import draw_timeline, person_timeline

P1 = "110101195803120138"
P2 = "110101195803124550"


def _recon():
    per = pd.period_range("2021-01", "2021-04", freq="M")
    return pd.DataFrame({
        "person_id": [P1] * 4 + [P2] * 4, "subsidy": "困难残疾人生活补贴", "period": list(per) * 2,
        "standard_fen": pd.array([7000] * 8, dtype="Int64"),
        "paid_fen": pd.array([7000, 7000, -500, 7000, 7000, 7000, 7000, 7000], dtype="Int64"),
        "failed_fen": pd.array([0, 7000, 0, 0, 0, 0, 0, 0], dtype="Int64"),
        "entitled": [True] * 8, "stopped": [False, False, False, True] + [False] * 4,
        "stop_event": pd.array([None, None, None, "死亡"] + [None] * 4, dtype="string")})


def _tables():
    deaths = pd.DataFrame({"person_id": [P1], "died_on": pd.to_datetime(["2021-03-14"]),
                           "source": ["火化"], "_file": ["死亡.xlsx"], "_sheet": ["S"], "_row": [5]})
    payouts = pd.DataFrame({"person_id": [P1, P1], "period": pd.PeriodIndex(["2021-03", "2021-03"], freq="M"),
                            "subsidy": ["困难残疾人生活补贴"] * 2, "amount": pd.array([7000, -7500], dtype="Int64"),
                            "account_no": ["6228480000000012344"] * 2,
                            "_file": ["发放.csv"] * 2, "_sheet": [""] * 2, "_row": [2, 3]})
    cards = pd.DataFrame({"account_no": ["6228480000000012344"], "holder_id": [P2],
                          "opened_on": pd.to_datetime(["2021-02-01"]), "closed_on": pd.to_datetime([None]),
                          "_file": ["卡.xlsx"], "_sheet": ["卡"], "_row": [9]})
    return {"deaths": deaths, "payouts": payouts, "cards": cards}


def test_months_due_and_paid_of_one_person_only():
    months, _ = person_timeline(P1, _recon(), _tables())
    assert months["period"].astype(str).tolist() == ["2021-01", "2021-02", "2021-03", "2021-04"]
    assert months["due_fen"].tolist() == [7000, 7000, 7000, 0]  # nothing due after death
    assert months["paid_fen"].tolist() == [7000, 7000, -500, 7000]  # the reversal month stays, negative


def test_events_carry_their_source_rows():
    _, events = person_timeline(P1, _recon(), _tables())
    got = {(str(p), k) for p, k in zip(events["period"], events["kind"])}
    # death; the reversal row; the failed month; the card paid into (held by someone else) opened
    assert got == {("2021-03", "death"), ("2021-03", "reversal"), ("2021-02", "failed"),
                   ("2021-02", "card_opened")}
    death = events[events["kind"] == "death"].iloc[0]
    assert (death["_file"], death["_row"], death["label"]) == ("死亡.xlsx", 5, "死亡")


def test_person_without_data_gets_empty_frames_and_a_drawable_chart():
    months, events = person_timeline("11010119620907804X", _recon(), {})
    assert months.empty and events.empty
    fig = draw_timeline(months, events, title="无记录")
    assert fig.axes


def test_chart_draws_one_bar_pair_per_month():
    months, events = person_timeline(P1, _recon(), _tables())
    fig = draw_timeline(months, events, title="张*")
    ax = fig.axes[0]
    assert len(ax.patches) == 8  # 4 months x (due, paid)
    assert min(p.get_height() for p in ax.patches) == -5.0  # -500 fen shown as -5 元


def test_event_tables_without_their_optional_columns():
    """A death list without 数据来源 and payouts without 补贴项目 still give events."""
    t = _tables()
    t["deaths"] = t["deaths"].drop(columns=["source"])
    t["payouts"] = t["payouts"].drop(columns=["subsidy"])
    _, events = person_timeline(P1, _recon(), t)
    assert {"death", "reversal"} <= set(events["kind"])

"""Network layer: rings of known shape, hubs (B23), legitimate sharing, explorer, export, B24."""

from __future__ import annotations

import importlib.util
import sys
import json
import time
from pathlib import Path

import networkx as nx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from graph_fixtures import ctx, frame, pay, pid  # noqa: E402

from onecard.core.findings import ring_id  # noqa: E402
from onecard.graph import (build_network, draw_ring, explain_link, export_graph, mask_value,  # noqa: E402
                           neighbourhood, ring_of)

P = [pid(i) for i in range(40)]
K1, K2, K3 = "6217000000000001", "6217000000000002", "6217000000000003"


def roster(ids, **extra):
    rows = []
    for i, p in enumerate(ids):
        row = {"person_id": p, "name": f"甲{i}", "household_id": f"H{p[-5:]}", "township": "奓山街道",
               "village": "星光村", "address": f"星光村{i}号", "phone": "无", "guardian_id": None}
        row.update(extra.get(p, {}))
        rows.append(row)
    return frame("roster", rows)


def test_ring_of_known_shape_exact_members_and_score():
    # chain: P0,P1 -> K1 ; P1 card K2 reserved phone X ; P2 card with phone X ; P3 paid into K2
    payouts = frame("payouts", [pay(P[0], K1, 30000), pay(P[1], K1, 30000), pay(P[2], K3), pay(P[3], K2)])
    cards = frame("cards", [{"account_no": K2, "holder_id": P[1], "phone": "13900000003",
                             "opened_by": "王五", "opened_on": "2020-05-01"},
                            {"account_no": K3, "holder_id": P[2], "phone": "13900000003",
                             "opened_by": "王五", "opened_on": "2020-05-01"}])
    r = roster(P[:5], **{P[0]: {"address": "星光村1号"}, P[3]: {"address": "星光村1号"}})
    net = build_network(ctx(payouts=payouts, cards=cards, roster=r).tables)
    assert len(net.rings) == 1
    ring = net.rings.iloc[0]
    assert ring["ring_id"] == ring_id(P[:4])
    assert ring["members"] == ";".join(sorted(P[:4]))
    assert (ring["households"], ring["persons"], ring["money_fen"]) == (4, 4, 100000)
    assert (ring["shared_addresses"], ring["bulk_opened"], ring["status_members"]) == (1, 2, 0)
    assert ring["score"] == pytest.approx(40 + 8 + 0.5 + 5 + 8)
    assert (ring["rank_township"], ring["rank_district"]) == (1, 1)
    assert ring["accounts"] == ";".join(sorted([K1, K2, K3])) and ring["phones"] == "13900000003"
    assert ring_of(net, P[3]) == ring["ring_id"] and ring_of(net, P[4]) is None
    assert set(net.ring_members["person_id"]) == set(P[:4])


def test_b23_hubs_do_not_fuse_everyone():
    people = [pid(100 + i) for i in range(300)]
    ring = [people[1], people[2], people[5], people[6]]
    rows, cards, rrows = [], [], []
    for i, p in enumerate(people):
        acct = "K3" if p in ring else f"6217{i:012d}"
        rows.append(pay(p, "6228000000000003" if p in ring else acct))
        phone = "13900000003" if p in ring else ("无" if i < 125 else "00000000000" if i < 250 else f"139{i:08d}")
        cards.append({"account_no": "6228000000000003" if p in ring else acct, "holder_id": p, "phone": phone})
        rrows.append({"person_id": p, "name": f"乙{i}", "household_id": f"H{i}", "township": "奓山街道",
                      "address": "星光村村委会" if 100 <= i < 140 else f"星光村{i}号", "phone": "13912345678"})
    cards = frame("cards", cards).drop_duplicates("account_no")
    net = build_network({"payouts": frame("payouts", rows), "cards": cards, "roster": frame("roster", rrows)})
    assert len(net.rings) == 1
    assert net.rings.iloc[0]["members"] == ";".join(sorted(ring))
    hubs = {(k, v): (d, r) for k, v, d, r in net.hubs.itertuples(index=False)}
    assert hubs[("phone", "无")] == (121, "placeholder")  # 4 ring members carry the ring phone
    assert hubs[("phone", "00000000000")] == (125, "placeholder")
    assert hubs[("address", "星光村村委会")] == (40, "placeholder")
    assert hubs[("phone", "13912345678")] == (300, "degree_cap")


def test_households_and_guardians_make_no_ring():
    # 3 members of one roster household share K1; a guardian collects for 2 wards of other households;
    # a 低保 head's account receives for his member; a spouse of an official collects for the official
    payouts = frame("payouts", [pay(P[0], K1), pay(P[1], K1), pay(P[2], K1),
                                pay(P[3], K2), pay(P[4], K2), pay(P[5], K2),
                                pay(P[6], K3), pay(P[7], K3)])
    r = roster(P[:8], **{P[1]: {"household_id": f"H{P[0][-5:]}"}, P[2]: {"household_id": f"H{P[0][-5:]}"},
                         P[4]: {"guardian_id": P[3]}, P[5]: {"guardian_id": P[3]}})
    dibao = frame("dibao", [{"person_id": P[7], "household_head_id": P[6], "start_month": "2020-01"}])
    net = build_network(ctx(payouts=payouts, roster=r, dibao=dibao).tables)
    assert net.rings.empty
    hh = net.persons["household"]
    assert hh[P[0]] == hh[P[1]] == hh[P[2]] and hh[P[3]] == hh[P[4]] == hh[P[5]] and hh[P[6]] == hh[P[7]]


def test_institution_account_never_links_and_is_listed():
    payouts = frame("payouts", [pay(P[i], K1) for i in range(5)])
    cards = frame("cards", [{"account_no": K1, "holder_id": P[30], "holder_name": "福利院",
                             "institution": "蔡甸区社会福利院"}])
    net = build_network({"payouts": payouts, "cards": cards, "roster": roster(P[:5])})
    assert net.rings.empty
    inst = net.institutions.iloc[0]
    assert (inst["account_no"], inst["beneficiaries"], inst["amount_fen"]) == (K1, 5, 100000)


def test_shared_address_alone_never_links():
    payouts = frame("payouts", [pay(P[i], f"621700000000010{i}") for i in range(4)])
    r = roster(P[:4], **{p: {"address": "星光村8号"} for p in P[:4]})
    assert build_network({"payouts": payouts, "roster": r}).rings.empty


@pytest.fixture(scope="module")
def ring_net():
    payouts = frame("payouts", [pay(P[0], K1), pay(P[1], K1), pay(P[2], K1), pay(P[3], K2)])
    cards = frame("cards", [{"account_no": K1, "holder_id": P[0], "phone": "13900000001"}])
    return build_network({"payouts": payouts, "cards": cards, "roster": roster(P[:4])})


def test_explain_neighbourhood_and_masking(ring_net):
    steps = explain_link(ring_net, P[1], P[2])
    assert len(steps) == 2 and "补贴发放至该账户" in steps[0] and K1 in steps[0]
    public = explain_link(ring_net, P[1], P[2], audience="public")
    assert K1 not in public[0] and "6217********0001" in public[0]
    assert "没有共享标识" in explain_link(ring_net, P[0], P[3])[0]
    hood = neighbourhood(ring_net, f"account:{K1}", 1)
    assert set(hood) == {f"account:{K1}", "phone:13900000001"} | {f"person:{p}" for p in P[:3]}
    assert mask_value("person", "420114198001011234") == "4201**********1234"
    assert mask_value("phone", "13900000001") == "139****0001"


def test_draw_and_export(ring_net, tmp_path):
    rid = ring_net.rings.iloc[0]["ring_id"]
    fig = draw_ring(ring_net, rid, audience="public")
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("4201" in t and "*" in t for t in texts) and not any(P[0] in t for t in texts)
    assert len(fig.axes[0].collections) >= 2
    for fmt in ("graphml", "gexf"):
        path = export_graph(ring_net, tmp_path / f"ring.{fmt}", ring_id=rid)
        g = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        assert g.number_of_nodes() == 8  # 3 persons, account, phone, 3 addresses
    path = export_graph(ring_net, tmp_path / "town.graphml", township="奓山街道", audience="public")
    assert P[0] not in path.read_text(encoding="utf-8")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_graph", Path(__file__).parents[1] / "bench" / "bench_graph.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_b24_small_exact_rings():
    tables, planted = _bench().synthetic_tables(1000)
    net = build_network(tables, {"households": 3})
    assert sorted(net.rings["members"]) == sorted(";".join(m) for m in planted)


@pytest.mark.slow
def test_b24_large_graph_100k():
    tables, planted = _bench().synthetic_tables(100_000)
    t0 = time.perf_counter()
    net = build_network(tables, {"households": 3})
    seconds = time.perf_counter() - t0
    assert sorted(net.rings["members"]) == sorted(";".join(m) for m in planted)
    # B24: the budget is recorded, not asserted (a timed assertion flakes on a shared
    # machine; bench/bench_graph.py measures it, median of several runs, for the README).
    out = Path(__file__).resolve().parents[1] / "outputs" / "test-artifacts"
    out.mkdir(parents=True, exist_ok=True)
    (out / "b24_large_graph.json").write_text(json.dumps({"persons": 100_000, "seconds": round(seconds, 2)}),
                                              encoding="utf-8")

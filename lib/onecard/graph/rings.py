"""Ring detection and the ring score.

A **ring** is a connected component of the *linking* edges (person - account,
account - phone, official - account/phone; see :mod:`onecard.graph.build`)
whose beneficiaries come from ``households`` (N, default 3) or more distinct
household groups. Components are found by union-find on the bipartite
person-identifier edge list; no person-person projection is ever built.

Score
-----
Each ring's score is the weighted sum of its parts; every part and its
weighted value are columns of ``Network.rings`` (``<part>`` and
``score_<part>``)::

    score = w_households       * households        (distinct unrelated household groups)
          + w_persons          * persons           (member beneficiaries)
          + w_money_per_10k_yuan * money_fen / 1,000,000
                                                   (paid successfully to members through
                                                    the ring's accounts, per 10,000 yuan)
          + w_shared_addresses * shared_addresses  (non-hub addresses shared by members of
                                                    2+ household groups; addresses never link)
          + w_status_members   * status_members    (members dead / moved out / not in roster)
          + w_officials        * officials         (officials or officials' relatives in
                                                    the component)
          + w_bulk_opened      * bulk_opened       (cards of the ring in the largest group
                                                    opened by one handler on one day, if >= 2)

Weights are ``score_weights`` in ``parameters/graph.yaml`` (defaults 10, 2, 5,
5, 8, 15, 4). Rings are ranked by score within their township
(``rank_township``) and district-wide (``rank_district``), 1 = highest.
"""

from __future__ import annotations

import pandas as pd

from ..core.findings import ring_id as make_ring_id
from .build import component_labels, text

PARTS = ["households", "persons", "money_fen", "shared_addresses", "status_members", "officials",
         "bulk_opened"]
RING_COLUMNS = (["ring_id", "township", "village", "members"] + PARTS + ["score"]
                + ["score_" + p for p in PARTS] + ["rank_township", "rank_district", "accounts", "phones"])
MEMBER_COLUMNS = ["ring_id", "person_id", "name", "township", "village", "household", "role", "flags",
                  "member"]


def _mode(s: pd.Series):
    s = s.dropna()
    return s.value_counts().sort_index(kind="stable").idxmax() if len(s) else pd.NA


def _empty():
    return (pd.Series(dtype="int64"), pd.DataFrame(columns=RING_COLUMNS),
            pd.DataFrame(columns=MEMBER_COLUMNS))


def detect_rings(persons: pd.DataFrame, edges: pd.DataFrame, tables: dict, params: dict):
    """Components of the linking edges and the rings among them.

    Returns
    -------
    component : Series
        Node id -> component label (int) for nodes with a linking edge.
    rings : DataFrame
        ``RING_COLUMNS``, sorted by ``rank_district``.
    ring_members : DataFrame
        ``MEMBER_COLUMNS``: every person of each ring's component; ``member``
        is True for the beneficiaries that make up the ring id.
    """
    link = edges[edges["link"]]
    if link.empty:
        return _empty()
    codes, nodes = pd.factorize(pd.concat([link["u"], link["v"]], ignore_index=True))
    roots = component_labels(len(nodes), codes[:len(link)], codes[len(link):])
    component = pd.Series(roots, index=pd.Index(nodes, dtype="string"), name="component")
    pnodes = component[component.index.str.startswith("person:")]
    people = persons.reindex(pnodes.index.str[7:]).assign(component=pnodes.values)
    people.index.name = "person_id"
    ben = people[people["beneficiary"].fillna(False).astype(bool)]
    hh = ben.groupby("component")["household"].nunique()
    ring_comps = hh[hh >= params["households"]].index
    if not len(ring_comps):
        return (component,) + _empty()[1:]
    ben = ben[ben["component"].isin(ring_comps)].reset_index()
    ids = ben.sort_values("person_id").groupby("component")["person_id"].agg(list)
    rid = ids.map(make_ring_id)
    rings = pd.DataFrame({"ring_id": rid, "members": ids.map(";".join)})
    rings["township"] = ben.groupby("component")["township"].agg(_mode)
    rings["village"] = ben.groupby("component")["village"].agg(_mode)
    rings["households"] = hh.reindex(rings.index)
    rings["persons"] = ben.groupby("component").size()
    rings["status_members"] = (ben["dead"] | ben["moved"] | ~ben["in_roster"].astype(bool)).groupby(
        ben["component"]).sum()
    inside = people[people["component"].isin(ring_comps)]
    rings["officials"] = (inside["official"] | inside["official_relative"]).groupby(
        inside["component"]).sum()
    comp_nodes = component[component.isin(ring_comps)]
    for kind in ("account", "phone"):
        sel = comp_nodes[comp_nodes.index.str.startswith(kind + ":")]
        rings[kind + "s"] = pd.Series(sel.index.str[len(kind) + 1:], index=sel.values).groupby(
            level=0).agg(lambda s: ";".join(sorted(s)))
    member_node = "person:" + ben["person_id"]
    comp_of_member = pd.Series(ben["component"].values, index=member_node.values)
    paid = edges[(edges["kind"] == "paid_into") & edges["u"].isin(comp_of_member.index)]
    paid = paid[paid["v"].map(component).values == paid["u"].map(comp_of_member).values]
    rings["money_fen"] = paid.groupby(paid["u"].map(comp_of_member))["amount_fen"].sum()
    rings["shared_addresses"] = _shared_addresses(edges, ben, comp_of_member,
                                                  params.get("_blocked", set()))
    rings["bulk_opened"] = _bulk_opened(tables, comp_nodes)
    rings[PARTS] = rings[PARTS].fillna(0).astype("int64")
    w = params["score_weights"]
    weights = {"households": w["households"], "persons": w["persons"],
               "money_fen": w["money_per_10k_yuan"] / 1_000_000,
               "shared_addresses": w["shared_addresses"], "status_members": w["status_members"],
               "officials": w["officials"], "bulk_opened": w["bulk_opened"]}
    for p in PARTS:
        rings["score_" + p] = (rings[p] * weights[p]).astype(float).round(2)
    rings["score"] = rings[["score_" + p for p in PARTS]].sum(axis=1).round(2)
    rings["rank_district"] = rings["score"].rank(ascending=False, method="min").astype("int64")
    rings["rank_township"] = rings.groupby(rings["township"].fillna(""))["score"].rank(
        ascending=False, method="min").astype("int64")
    for c in ("ring_id", "members", "township", "village", "accounts", "phones"):
        rings[c] = rings[c].astype("string")
    rings = rings.sort_values(["rank_district", "ring_id"]).reset_index(drop=True)
    inside = inside.reset_index()
    inside["ring_id"] = inside["component"].map(rid)
    inside["member"] = inside["beneficiary"].astype(bool)
    members = inside[MEMBER_COLUMNS].sort_values(["ring_id", "person_id"]).reset_index(drop=True)
    return component, rings[RING_COLUMNS], members


def _shared_addresses(edges, ben, comp_of_member, blocked) -> pd.Series:
    """Per component: addresses held by members of 2 or more household groups."""
    hh_of = pd.Series(ben["household"].values, index=("person:" + ben["person_id"]).values)
    home = edges[(edges["kind"] == "home_address") & edges["u"].isin(hh_of.index)]
    pairs = [pd.DataFrame({"node": home["u"].values, "addr": home["v"].values})]
    card = edges[edges["kind"] == "card_address"]
    via = edges[edges["kind"].isin(["paid_into", "holds"]) & edges["u"].isin(hh_of.index)]
    via = via[["u", "v"]].merge(card[["u", "v"]].rename(columns={"u": "v", "v": "addr"}), on="v")
    pairs.append(pd.DataFrame({"node": via["u"].values, "addr": via["addr"].values}))
    pairs = pd.concat(pairs, ignore_index=True)
    pairs = pairs[~pairs["addr"].isin(blocked)]  # hub addresses above the degree cap
    pairs["comp"] = pairs["node"].map(comp_of_member)
    pairs["hh"] = pairs["node"].map(hh_of)
    per = pairs.groupby(["comp", "addr"])["hh"].nunique()
    return (per[per >= 2]).groupby(level=0).size()


def _bulk_opened(tables, comp_nodes) -> pd.Series:
    """Per component: size of the largest group of its cards opened by one handler on one day."""
    cards = tables.get("cards")
    if cards is None or "opened_by" not in cards.columns or "opened_on" not in cards.columns:
        return pd.Series(dtype="int64")
    acct = "account:" + text(cards, "account_no")
    df = pd.DataFrame({"comp": acct.map(comp_nodes), "acct": acct, "by": text(cards, "opened_by"),
                       "on": pd.to_datetime(cards["opened_on"], errors="coerce").dt.normalize()})
    df = df.dropna()
    size = df.drop_duplicates().groupby(["comp", "by", "on"])["acct"].nunique()
    best = size.groupby(level=0).max()
    return best.where(best >= 2, 0)

"""The :class:`Network` object and :func:`build_network`.

Legitimate sharing is modelled, not guessed: persons are grouped into
*household groups* by union-find over

- the roster ``household_id`` (a person without one is their own household),
- the 低保 ``household_head_id`` (member <-> head),
- the registered guardian (roster ``guardian_id``: ward <-> guardian),
- an official's close relatives (``relations`` rows whose ``relation`` is in
  ``household_relations`` of ``parameters/graph.yaml``: 配偶/子女/父母 by
  default) - they count as the official's own household.

Sharing *inside* a household group never makes a ring or a pooled account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import networkx as nx
import numpy as np
import pandas as pd

from ..core.log import logger
from .build import component_labels, hubs_and_blocks, raw_edges, text
from .params import load_graph_params

PERSON_COLUMNS = ["name", "township", "village", "household", "beneficiary", "official",
                  "official_relative", "in_roster", "dead", "moved", "role", "flags"]


@dataclass
class Network:
    """The shared-identifier network of one run.

    Attributes
    ----------
    persons : DataFrame
        Indexed by ``person_id``: ``PERSON_COLUMNS`` (``household`` is the
        household-group label; booleans for the status columns; ``role`` is
        ``beneficiary`` / ``official`` / ``guardian`` / ``holder`` / ``other``).
    edges : DataFrame
        ``u, v, kind, source, first, last, amount_fen, n_rows, rows, link``
        (see :mod:`onecard.graph.build`).
    rings : DataFrame
        ``ring_id, township, village, members, households, persons, money_fen,
        shared_addresses, status_members, officials, bulk_opened, score,
        score_<part>..., rank_township, rank_district, accounts, phones``.
    ring_members : DataFrame
        ``ring_id, person_id, name, township, village, household, role, flags``.
    hubs : DataFrame
        ``kind, value, degree, reason``: placeholder values and identifiers above
        the degree cap, never used for linking.
    institutions : DataFrame
        ``account_no, institution, holder_id, holder_name, beneficiaries,
        amount_fen``: care-institution accounts (listed, never flagged).
    component : Series
        Node id -> component label for every node with a linking edge.
    params : dict
        Graph parameters (``parameters/graph.yaml``) plus ``households``.
    """

    persons: pd.DataFrame
    edges: pd.DataFrame
    rings: pd.DataFrame
    ring_members: pd.DataFrame
    hubs: pd.DataFrame
    institutions: pd.DataFrame
    component: pd.Series
    params: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict, repr=False)

    @cached_property
    def graph(self) -> nx.Graph:
        """The whole network as an undirected ``nx.Graph`` (built on first use).

        Node attributes: ``kind`` (person/account/phone/address/household/
        handler), ``value``, ``label`` (name for persons), ``township``,
        ``village``, ``household``, ``role``, ``flags``, ``hub`` (0/1),
        ``ring_id`` ('' outside rings). Edge attributes: ``kind`` and ``source``
        (``;``-joined when several facts join the same pair), ``first``,
        ``last`` (ISO dates or ''), ``amount_fen`` (int, fen), ``n_rows``,
        ``rows`` (source refs), ``link`` (0/1). All values are GraphML-safe.
        Never draw it whole.
        """
        e = self.edges
        dup = e.duplicated(["u", "v"], keep=False)
        multi = e[dup].groupby(["u", "v"], sort=False).agg(
            kind=("kind", ";".join), source=("source", ";".join),
            first=("first", "min"), last=("last", "max"), amount_fen=("amount_fen", "sum"),
            n_rows=("n_rows", "sum"), rows=("rows", ";".join), link=("link", "max")).reset_index()
        agg = pd.concat([e[~dup], multi], ignore_index=True)  # only shared pairs need grouping
        for c in ("first", "last"):
            agg[c] = pd.to_datetime(agg[c]).dt.strftime("%Y-%m-%d").fillna("")
        agg["amount_fen"] = agg["amount_fen"].astype("int64")
        agg["link"] = agg["link"].astype(int)
        g = nx.Graph()
        g.add_edges_from(zip(agg["u"].tolist(), agg["v"].tolist(), _records(agg.drop(columns=["u", "v"]))))
        nodes = pd.Series(list(g.nodes), dtype="string")
        split = nodes.str.split(":", n=1)
        kind, value = split.str[0], split.str[1]
        hub_ids = set(self.hubs["kind"] + ":" + self.hubs["value"].astype(str))
        ring_of = self.ring_members.set_index("person_id")["ring_id"]
        ring_of = ring_of[~ring_of.index.duplicated()]
        p = self.persons.reindex(value.where(kind == "person"))
        info = pd.DataFrame({
            "kind": kind.values, "value": value.values,
            "label": p["name"].fillna("").where(kind.values == "person", value.values).values,
            "township": p["township"].fillna("").values, "village": p["village"].fillna("").values,
            "household": p["household"].fillna("").values, "role": p["role"].fillna("").values,
            "flags": p["flags"].fillna("").values, "hub": nodes.isin(hub_ids).astype(int).values,
            "ring_id": value.map(ring_of).where(kind == "person").fillna("").values,
        }, index=nodes.values).astype({c: object for c in ("label", "township", "village")})
        nx.set_node_attributes(g, dict(zip(info.index.tolist(), _records(info))))
        return g


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as plain dicts of Python values (faster than ``to_dict('records')``)."""
    cols = list(df.columns)
    lists = [df[c].astype(object).where(df[c].notna(), "").tolist() for c in cols]
    return [dict(zip(cols, vals)) for vals in zip(*lists)]


def person_frame(tables: dict, params: dict) -> pd.DataFrame:
    """Every person in any table, with household group and status; see :class:`Network`."""
    sources = [("roster", "person_id", 0), ("payouts", "person_id", 1), ("officials", "person_id", 2),
               ("cards", "holder_id", 3), ("dibao", "person_id", 4)]
    frames = [pd.DataFrame({c: pd.Series(dtype="string") for c in ("person_id", "name", "township", "village")})]
    for table, id_col, prio in sources:
        df = tables.get(table)
        if df is None or not len(df):
            continue
        name_col = "holder_name" if table == "cards" else "name"
        frames.append(pd.DataFrame({"person_id": text(df, id_col), "name": text(df, name_col),
                                    "township": text(df, "township"), "village": text(df, "village"),
                                    "prio": prio}))
    extra = [text(tables.get(t), c) for t, c in (("roster", "guardian_id"), ("relations", "official_id"),
                                                    ("relations", "relative_id"), ("dibao", "household_head_id"))]
    extra = pd.concat(extra, ignore_index=True).dropna()
    frames.append(pd.DataFrame({"person_id": extra, "prio": 9}))
    base = pd.concat(frames, ignore_index=True).dropna(subset=["person_id"])
    base = base.sort_values("prio", kind="stable")
    first = base.groupby("person_id", sort=True).agg(
        name=("name", "first"), township=("township", "first"), village=("village", "first"))
    ids = first.index.to_series()

    def among(table, c="person_id"):
        return ids.isin(text(tables.get(table), c).dropna().unique()) if table in tables else \
            pd.Series(False, index=ids.index)

    first["household"] = household_groups(tables, first.index, params)
    first["beneficiary"] = among("payouts") | among("roster")
    first["official"] = among("officials")
    first["official_relative"] = among("relations", "relative_id")
    first["in_roster"] = among("roster") if "roster" in tables else True
    first["dead"], first["moved"] = among("deaths"), among("moves")
    first["role"] = np.select(
        [first["official"], first["beneficiary"], among("roster", "guardian_id"), among("cards", "holder_id")],
        ["official", "beneficiary", "guardian", "holder"], "other")
    labels = {"dead": "死亡", "moved": "迁出", "official": "公职人员", "official_relative": "公职人员亲属"}
    flags = pd.Series("", index=first.index)
    for c, lab in labels.items():
        flags = flags + np.where(first[c], lab + ";", "")
    flags = flags + np.where(first["beneficiary"] & ~first["in_roster"], "不在残疾人库;", "")
    first["flags"] = flags.str.rstrip(";")
    return first[PERSON_COLUMNS]


def household_groups(tables: dict, person_ids: pd.Index, params: dict) -> pd.Series:
    """Household-group label per person (roster household_id, 低保 head, guardian, close kin).

    The label is the smallest roster ``household_id`` in the group, else the
    smallest member ``person_id``.
    """
    roster, dibao, rel = tables.get("roster"), tables.get("dibao"), tables.get("relations")
    pairs = [(text(roster, "person_id"), "hh:" + text(roster, "household_id")),
             (text(dibao, "person_id"), text(dibao, "household_head_id")),
             (text(roster, "person_id"), text(roster, "guardian_id"))]
    if rel is not None and len(rel):
        close = text(rel, "relation").isin(params["household_relations"])
        pairs.append((text(rel, "official_id")[close], text(rel, "relative_id")[close]))
    a = pd.concat([p[0] for p in pairs], ignore_index=True)
    b = pd.concat([p[1] for p in pairs], ignore_index=True)
    ok = a.notna() & b.notna()
    a, b = a[ok], b[ok]
    codes, uniques = pd.factorize(pd.concat([pd.Series(person_ids, dtype="string"), a, b],
                                            ignore_index=True))
    n_p, n_e = len(person_ids), len(a)
    roots = component_labels(len(uniques), codes[n_p:n_p + n_e], codes[n_p + n_e:])
    nodes = pd.DataFrame({"node": pd.Series(uniques, dtype="string"), "root": roots})
    is_hh = nodes["node"].str.startswith("hh:")
    hh_label = nodes[is_hh].assign(lab=nodes["node"].str[3:]).groupby("root")["lab"].min()
    p_label = nodes[~is_hh].groupby("root")["node"].min()
    label = hh_label.combine_first(p_label)
    root_of = pd.Series(roots[:len(uniques)], index=nodes["node"])
    return pd.Series(root_of.reindex(pd.Index(person_ids, dtype="string")).map(label).values,
                     index=person_ids, dtype="string")


def _institutions(tables: dict, edges: pd.DataFrame) -> pd.DataFrame:
    cols = ["account_no", "institution", "holder_id", "holder_name", "beneficiaries", "amount_fen"]
    cards = tables.get("cards")
    if cards is None or "institution" not in cards.columns:
        return pd.DataFrame(columns=cols)
    inst = cards[text(cards, "institution").notna()]
    out = pd.DataFrame({"account_no": text(inst, "account_no"), "institution": text(inst, "institution"),
                        "holder_id": text(inst, "holder_id"), "holder_name": text(inst, "holder_name")})
    out = out.drop_duplicates("account_no")
    paid = edges[edges["kind"] == "paid_into"]
    paid = paid.assign(acct=paid["v"].str[8:])
    stats = paid.groupby("acct").agg(beneficiaries=("u", "nunique"), amount_fen=("amount_fen", "sum"))
    out = out.join(stats, on="account_no")
    out[["beneficiaries", "amount_fen"]] = out[["beneficiaries", "amount_fen"]].fillna(0).astype("int64")
    return out[cols].reset_index(drop=True)


def build_network(tables, params: dict | None = None, households: int | None = None) -> Network:
    """Build the shared-identifier network and detect rings.

    Parameters
    ----------
    tables : dict of DataFrame, or an object with ``.tables``
        The canonical tables (the rule context passes its own).
    params : dict, optional
        Overrides of ``parameters/graph.yaml``; may include ``households``.
    households : int, optional
        Ring threshold N (distinct households); the rule context passes the
        ``SHARED_IDENTIFIER_RING.households`` rule parameter. Default 3.

    Returns
    -------
    Network

    Raises
    ------
    onecard.core.errors.ParameterError
        On unknown or invalid graph parameters.

    Notes
    -----
    Clause 3.3.2 (虚报冒领) and 3.3.3/3.3.4. Components are computed by
    union-find on the bipartite person-identifier edge list, never on a
    person-person projection; the networkx graph is built lazily.
    """
    from . import rings as ring_mod
    tables = tables if isinstance(tables, dict) else tables.tables
    params = dict(params or {})
    households = params.pop("households", households)
    gp = load_graph_params(params)
    gp["households"] = int(households or 3)
    edges, placeholders = raw_edges(tables, gp)
    hubs, blocked = hubs_and_blocks(edges, placeholders, tables, gp)
    if blocked:
        edges.loc[edges["u"].isin(blocked) | edges["v"].isin(blocked), "link"] = False
    persons = person_frame(tables, gp)
    gp["_blocked"] = blocked
    component, rings, members = ring_mod.detect_rings(persons, edges, tables, gp)
    logger.info("network: %d persons, %d edges, %d hubs, %d rings", len(persons), len(edges),
                len(hubs), len(rings))
    return Network(persons, edges, rings, members, hubs, _institutions(tables, edges), component, gp,
                   tables)

"""Explorer helpers: neighbourhood, ring of a node, why two persons are linked.

These work on :attr:`Network.graph` (built lazily on first use) and never copy
more than the part of the graph they return.
"""

from __future__ import annotations

import networkx as nx

from ..core.errors import ParameterError
from ..core.findings import yuan
from ..core.mask import mask_value

PREFIXES = ("person", "account", "phone", "address", "household", "handler")

#: Chinese wording of each edge kind, for explanations and legends.
EDGE_WORDS = {
    "paid_into": "补贴发放至该账户", "holds": "为该账户持卡人", "official_account": "为公职人员本人账户",
    "reserved_phone": "账户预留手机号", "official_phone": "为公职人员本人手机号",
    "contact_phone": "残疾人库登记联系电话", "home_address": "残疾人库登记地址",
    "card_address": "开卡登记联系地址", "member_of": "同一户", "guardian": "登记监护人",
    "relative": "公职人员亲属", "opened_by": "开卡经办人", "approved_by": "审批/经办人",
}
KIND_WORDS = {"person": "", "account": "账户", "phone": "手机号", "address": "地址",
              "household": "户", "handler": "经办人"}


def resolve(network, node: str) -> str:
    """The graph node id for ``node`` (a prefixed id, or a bare person id/account/phone).

    Raises
    ------
    ParameterError
        When no node of any type has that id.
    """
    g = network.graph
    if node in g:
        return node
    for prefix in PREFIXES:
        if f"{prefix}:{node}" in g:
            return f"{prefix}:{node}"
    raise ParameterError(f"网络中没有节点 {node}；请使用 person:/account:/phone: 等前缀或完整号码。")


def neighbourhood(network, node: str, k: int = 1) -> nx.Graph:
    """The subgraph within ``k`` steps of ``node`` (a copy; attributes as in the graph).

    Parameters
    ----------
    node : str
        Prefixed node id (``person:<id>``, ``account:<no>`` ...) or a bare value.
    k : int
        Radius in edges (person -> account -> person is k=2).

    Raises
    ------
    ParameterError
        When the node is not in the network.
    """
    return nx.ego_graph(network.graph, resolve(network, node), radius=k).copy()


def ring_of(network, node: str) -> str | None:
    """The ring id of the component ``node`` belongs to, or ``None``.

    Works for persons and for the accounts/phones that link a ring.
    """
    node = resolve(network, node)
    comp = network.component.get(node)
    if comp is None or network.rings.empty:
        return None
    for rid, members in zip(network.rings["ring_id"], network.rings["members"]):
        if network.component.get("person:" + str(members).split(";")[0]) == comp:
            return str(rid)
    return None


def node_text(g: nx.Graph, node: str, audience: str = "internal") -> str:
    """Readable Chinese label of a node, masked for ``audience='public'``."""
    data = g.nodes[node]
    kind, value = data.get("kind", ""), data.get("value", "")
    shown = mask_value(kind, value) if audience == "public" else value
    if kind == "person":
        label = data.get("label") or ""
        label = mask_value("name", label) if audience == "public" else label
        return f"{label or '（无姓名）'}（{shown}）"
    return f"{KIND_WORDS.get(kind, kind)} {shown}"


def explain_link(network, person_a: str, person_b: str, audience: str = "internal") -> list[str]:
    """Why two persons are linked: one Chinese sentence per step of the shortest path.

    The path is searched first over linking edges only (accounts and reserved
    phones, hubs excluded); failing that over every edge except hub nodes.

    Returns
    -------
    list of str
        Empty when ``person_a == person_b``; one sentence saying there is no
        link when none exists.

    Raises
    ------
    ParameterError
        When either person is not in the network.
    """
    g = network.graph
    a, b = resolve(network, person_a), resolve(network, person_b)
    if a == b:
        return []
    linking = nx.subgraph_view(g, filter_edge=lambda u, v: g.edges[u, v]["link"] == 1)
    no_hubs = nx.subgraph_view(g, filter_node=lambda n: not g.nodes[n].get("hub"))
    path = None
    for view in (linking, no_hubs):
        try:
            path = nx.shortest_path(view, a, b)
            break
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            continue
    if path is None:
        return [f"{node_text(g, a, audience)} 与 {node_text(g, b, audience)} 之间没有共享标识的联系。"]
    steps = []
    for x, y in zip(path, path[1:]):
        e = g.edges[x, y]
        words = "、".join(EDGE_WORDS.get(k, k) for k in dict.fromkeys(e["kind"].split(";")))
        when = f"，{e['first']}至{e['last']}" if e.get("first") else ""
        money = f"，成功发放{yuan(e['amount_fen'])}元" if e.get("amount_fen") else ""
        steps.append(f"{node_text(g, x, audience)} — {node_text(g, y, audience)}：{words}"
                     f"（{e['n_rows']}条记录{when}{money}；来源 {e['rows']}）")
    return steps

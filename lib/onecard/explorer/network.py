"""The network around a person, account or phone, drawn from the stored edge table.

No whole-district graph is ever built. :class:`EdgeIndex` turns the edge table
(``network_edges``: ``u, v, kind, source, first, last, amount_fen, n_rows, rows,
link``) into a compressed adjacency (one ``factorize`` and one ``argsort``), so
a node's edges are one slice. :class:`Neighbourhood` holds the nodes shown and
grows one hop at a time; :func:`why_linked` finds the shortest path between two
nodes by breadth-first search over the same arrays, never passing through a hub
(a placeholder or an identifier above the degree cap, which links nobody).
Only the few nodes drawn become a small networkx graph, for the layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..core.mask import mask_value
from .data import ExplorerData

__all__ = ["EdgeIndex", "Neighbourhood", "why_linked", "draw_neighbourhood", "node_label",
           "EDGE_KIND_ZH", "NODE_STYLE", "edge_index"]

#: Edge kinds in Chinese (graph.build edge kinds).
EDGE_KIND_ZH = {
    "paid_into": "补贴发放至", "holds": "持有账户", "official_account": "公职人员账户",
    "reserved_phone": "预留手机号", "official_phone": "公职人员手机号", "contact_phone": "联系电话",
    "home_address": "户籍/居住地址", "card_address": "开卡地址", "member_of": "同户",
    "guardian": "监护人", "relative": "亲属", "opened_by": "经办开卡", "approved_by": "审批/经办",
}
#: Node type -> (Chinese name, matplotlib marker, colour).
NODE_STYLE = {
    "person": ("人员", "o", "#2f5597"), "account": ("账户", "s", "#ed7d31"),
    "phone": ("手机号", "^", "#70ad47"), "address": ("地址", "D", "#7f7f7f"),
    "household": ("户", "h", "#a5a5a5"), "handler": ("经办人", "p", "#bf9000"),
}
#: Nodes with more edges than this are shown but never expanded through in a path.
PATH_DEGREE_CAP = 50
#: At most this many neighbours are added per expansion (linking edges and money first).
EXPAND_LIMIT = 40


class EdgeIndex:
    """Compressed adjacency over the edge table.

    Attributes
    ----------
    nodes : Index
        Node ids (``person:<id>`` ...); a node's code is its position.
    """

    def __init__(self, edges: pd.DataFrame, hubs: set[str] | None = None):
        self.edges = edges.reset_index(drop=True)
        n = len(self.edges)
        codes, uniques = pd.factorize(pd.concat([self.edges["u"], self.edges["v"]], ignore_index=True)
                                      .astype("string"))
        self.nodes = pd.Index(uniques.astype(str) if hasattr(uniques, "astype") else uniques)
        self._pos = {str(x): i for i, x in enumerate(self.nodes)}
        self.u, self.v = codes[:n], codes[n:]
        ends = np.concatenate([self.u, self.v])
        order = np.argsort(ends, kind="stable")
        self._edge_of = np.concatenate([np.arange(n), np.arange(n)])[order]
        self._other = np.concatenate([self.v, self.u])[order]
        counts = np.bincount(ends, minlength=len(self.nodes))
        self._start = np.concatenate([[0], np.cumsum(counts)])
        self.degree = counts
        self.hub = np.zeros(len(self.nodes), dtype=bool)
        for h in hubs or ():
            if h in self._pos:
                self.hub[self._pos[h]] = True
        self.link = self.edges["link"].fillna(False).astype(bool).to_numpy() if "link" in self.edges \
            else np.ones(n, dtype=bool)

    def code(self, node: str) -> int | None:
        return self._pos.get(str(node))

    def incident(self, code: int) -> tuple[np.ndarray, np.ndarray]:
        """``(edge positions, other-end codes)`` of a node."""
        s, e = self._start[code], self._start[code + 1]
        return self._edge_of[s:e], self._other[s:e]


def edge_index(data: ExplorerData) -> EdgeIndex:
    """The run's :class:`EdgeIndex` (built once per opened run)."""
    cache = data.__dict__
    if "_edge_index" not in cache:
        hubs = set()
        hpath = data.work_dir / "analysis" / "hubs.parquet"
        if hpath.exists():
            h = pd.read_parquet(hpath)
            hubs = set((h["kind"].astype(str) + ":" + h["value"].astype(str)).tolist())
        cache["_edge_index"] = EdgeIndex(data.edges, hubs)
    return cache["_edge_index"]


@dataclass
class Neighbourhood:
    """The nodes shown around a centre; grows one hop at a time.

    Attributes
    ----------
    centre : str
        Node id the drawing started from.
    nodes : list of str
        Node ids shown (centre first).
    expanded : set of str
        Nodes whose neighbours have been added.
    """

    index: EdgeIndex
    centre: str
    nodes: list = field(default_factory=list)
    expanded: set = field(default_factory=set)
    truncated: dict = field(default_factory=dict)

    @classmethod
    def around(cls, index: EdgeIndex, centre: str) -> "Neighbourhood":
        nb = cls(index, centre, [centre] if index.code(centre) is not None else [])
        if nb.nodes:
            nb.expand(centre)
        return nb

    def expand(self, node: str) -> list[str]:
        """Add the neighbours of ``node`` (at most :data:`EXPAND_LIMIT`, linking edges
        and larger money first). Returns the nodes added."""
        c = self.index.code(node)
        if c is None or node in self.expanded:
            return []
        self.expanded.add(node)
        eids, others = self.index.incident(c)
        e = self.index.edges
        amount = pd.to_numeric(e["amount_fen"], errors="coerce").fillna(0).to_numpy()[eids] \
            if "amount_fen" in e else np.zeros(len(eids))
        rank = np.lexsort((-amount, ~self.index.link[eids]))
        ordered = list(dict.fromkeys(self.index.nodes[others[rank]].tolist()))
        known = set(self.nodes)
        new = [n for n in ordered if n not in known]
        if len(new) > EXPAND_LIMIT:
            self.truncated[node] = len(new) - EXPAND_LIMIT
            new = new[:EXPAND_LIMIT]
        self.nodes.extend(new)
        return new

    def edges(self) -> pd.DataFrame:
        """Edges among the shown nodes (all kinds)."""
        codes = np.array([self.index.code(n) for n in self.nodes], dtype=np.int64)
        keep = np.isin(self.index.u, codes) & np.isin(self.index.v, codes)
        return self.index.edges[keep]


def why_linked(index: EdgeIndex, a: str, b: str, max_hops: int = 8) -> pd.DataFrame:
    """The shortest chain of facts joining node ``a`` to node ``b``.

    Breadth-first search over the adjacency; hubs and nodes with more than
    :data:`PATH_DEGREE_CAP` edges are never passed through (they may end a path).

    Returns
    -------
    DataFrame
        One row per step: ``from, kind, to, source, first, last, amount_fen, rows``
        (machine names; ``kind`` is the edge kind). Empty when not linked within
        ``max_hops`` steps or when either node is unknown.
    """
    ca, cb = index.code(a), index.code(b)
    cols = ["from", "kind", "to", "source", "first", "last", "amount_fen", "rows"]
    if ca is None or cb is None:
        return pd.DataFrame(columns=cols)
    parent = {ca: (-1, -1)}
    frontier = [ca]
    for _ in range(max_hops):
        nxt = []
        for c in frontier:
            if c != ca and (index.hub[c] or index.degree[c] > PATH_DEGREE_CAP):
                continue
            eids, others = index.incident(c)
            for e, o in zip(eids.tolist(), others.tolist()):
                if o not in parent:
                    parent[o] = (c, e)
                    if o == cb:
                        return _path(index, parent, cb, cols)
                    nxt.append(o)
        frontier = nxt
        if not frontier:
            break
    return pd.DataFrame(columns=cols)


def _path(index: EdgeIndex, parent: dict, end: int, cols: list[str]) -> pd.DataFrame:
    steps = []
    c = end
    while parent[c][0] != -1:
        p, e = parent[c]
        steps.append((p, e, c))
        c = p
    steps.reverse()
    e = index.edges.iloc[[s[1] for s in steps]]
    out = pd.DataFrame({"from": [index.nodes[s[0]] for s in steps], "kind": e["kind"].to_numpy(),
                        "to": [index.nodes[s[2]] for s in steps]})
    for c in cols[3:]:
        out[c] = e[c].to_numpy() if c in e else pd.NA
    return out[cols]


def node_label(data: ExplorerData, node: str) -> str:
    """What a node is called on screen: a person's name (masked for public), a masked
    or full account/phone, an address (hidden for public)."""
    kind, _, value = str(node).partition(":")
    if kind == "person":
        pos = data.person_pos.get(value)
        name = data.persons["name"].iloc[pos] if pos is not None and "name" in data.persons else None
        name = "" if name is None or pd.isna(name) else str(name)
        if data.public:
            from ..core.mask import mask_name
            masked = mask_name(pd.Series([name], dtype="string"))[0] if name else ""
            return f"{masked or '人员'}\n{mask_value('person', value)}"
        return f"{name}\n{value}" if name else value
    if kind in ("account", "phone"):
        return mask_value(kind, value) if data.public else value
    if kind == "address":
        return "地址" if data.public else value
    if kind == "household":
        return "户"
    if kind == "handler" and data.public:
        from ..core.mask import mask_name
        return str(mask_name(pd.Series([value], dtype="string"))[0])
    return value


def path_table(data: ExplorerData, path: pd.DataFrame) -> pd.DataFrame:
    """A path from :func:`why_linked` for reading (Chinese, masked per audience):
    ``步骤, 从, 关系, 到, 来源, 起, 止, 涉及金额（元）, 来源行``."""
    from ..core.findings import yuan

    if path.empty:
        return pd.DataFrame(columns=["步骤", "从", "关系", "到"])
    lab = [node_label(data, n).replace("\n", " ") for n in path["from"]]
    lab_to = [node_label(data, n).replace("\n", " ") for n in path["to"]]
    out = pd.DataFrame({"步骤": range(1, len(path) + 1), "从": lab,
                        "关系": path["kind"].map(EDGE_KIND_ZH).fillna(path["kind"]).to_numpy(), "到": lab_to,
                        "来源": path["source"].to_numpy(),
                        "起": pd.to_datetime(path["first"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
                        "止": pd.to_datetime(path["last"], errors="coerce").dt.strftime("%Y-%m-%d").fillna("").to_numpy(),
                        "涉及金额（元）": pd.to_numeric(path["amount_fen"], errors="coerce").map(
                            lambda v: "" if pd.isna(v) or v == 0 else yuan(v)).to_numpy(),
                        "来源行": path["rows"].astype("string").fillna("").to_numpy()})
    return out


def draw_neighbourhood(data: ExplorerData, nb: Neighbourhood, ring_nodes: set[str] | None = None,
                       title: str = ""):
    """Draw the shown nodes and their edges (matplotlib Figure).

    Node types by marker and colour (:data:`NODE_STYLE`, legend in Chinese);
    linking edges solid, context edges dashed; ring members outlined in red; the
    centre larger; labels masked for the public audience. Layout: spring layout of
    the small shown graph only (seeded, so the same view draws the same).
    """
    import matplotlib.pyplot as plt
    import networkx as nx

    from ..core.fonts import use_cjk_font

    use_cjk_font()
    fig, ax = plt.subplots(figsize=(9, 6.5))
    ax.set_axis_off()
    if not nb.nodes:
        ax.text(0.5, 0.5, "没有关系网络记录", ha="center", va="center", transform=ax.transAxes)
        return fig
    e = nb.edges()
    g = nx.Graph()
    g.add_nodes_from(nb.nodes)
    g.add_edges_from(zip(e["u"].astype(str), e["v"].astype(str)))
    pos = nx.spring_layout(g, seed=7, k=1.2 / max(1, len(nb.nodes)) ** 0.5)
    link = e["link"].fillna(False).astype(bool).to_numpy() if "link" in e else np.ones(len(e), bool)
    for (u, v), lk in zip(zip(e["u"].astype(str), e["v"].astype(str)), link):
        ax.plot([pos[u][0], pos[v][0]], [pos[u][1], pos[v][1]], color="#555555" if lk else "#bbbbbb",
                linestyle="-" if lk else "--", linewidth=1.2 if lk else 0.8, zorder=1)
    ring_nodes = ring_nodes or set()
    kinds = pd.Series([n.split(":", 1)[0] for n in nb.nodes])
    for kind, (zh, marker, colour) in NODE_STYLE.items():
        ns = [n for n, k in zip(nb.nodes, kinds) if k == kind]
        if not ns:
            continue
        xy = np.array([pos[n] for n in ns])
        size = [320 if n == nb.centre else 140 for n in ns]
        edge = ["#c00000" if n in ring_nodes else "white" for n in ns]
        ax.scatter(xy[:, 0], xy[:, 1], s=size, marker=marker, c=colour, edgecolors=edge,
                   linewidths=[2.0 if n in ring_nodes else 0.8 for n in ns], zorder=2, label=zh)
    for n in nb.nodes:
        ax.annotate(node_label(data, n), pos[n], fontsize=7, ha="center", va="top",
                    xytext=(0, -8), textcoords="offset points", zorder=3)
    if ring_nodes:
        ax.scatter([], [], s=140, marker="o", c="white", edgecolors="#c00000", linewidths=2, label="关联圈成员")
    ax.plot([], [], color="#555555", label="可关联的共用（账户/手机号）")
    ax.plot([], [], color="#bbbbbb", linestyle="--", label="背景关系（地址、户、经办等）")
    ax.legend(loc="upper left", fontsize=7, frameon=False, bbox_to_anchor=(1.0, 1.0))
    more = sum(nb.truncated.values())
    ax.set_title((title or "关系网络") + (f"（另有 {more} 个相邻节点未展开）" if more else ""), fontsize=10)
    fig.tight_layout()
    return fig

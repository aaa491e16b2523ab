"""The network around a person, account or phone, drawn from the stored edge table.

No whole-district graph is ever built. :class:`EdgeIndex` turns the edge table
(``analysis/network/edges``: ``u, v, kind, source, first, last, amount_fen, n_rows, rows,
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

__all__ = ["EdgeIndex", "Neighbourhood", "why_linked", "svg_neighbourhood", "path_table", "node_label",
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
    from .data import _LOCK

    cache = data.__dict__
    with _LOCK:
        return _edge_index(data, cache)


def _edge_index(data: ExplorerData, cache: dict) -> EdgeIndex:
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


def _marker(kind: str, x: float, y: float, r: float, colour: str, stroke: str, sw: float) -> str:
    """One SVG node marker: circle, square, triangle, diamond, hexagon or pentagon."""
    style = f'fill="{colour}" stroke="{stroke}" stroke-width="{sw}"'
    if kind == "person":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" {style}/>'
    if kind == "account":
        return f'<rect x="{x - r:.1f}" y="{y - r:.1f}" width="{2 * r:.1f}" height="{2 * r:.1f}" {style}/>'
    sides, turn = {"phone": (3, -90), "address": (4, 0), "household": (6, 0), "handler": (5, -90)}.get(kind, (8, 0))
    ang = np.deg2rad(turn + np.arange(sides) * 360 / sides)
    pts = " ".join(f"{x + 1.2 * r * np.cos(a):.1f},{y + 1.2 * r * np.sin(a):.1f}" for a in ang)
    return f'<polygon points="{pts}" {style}/>'


def svg_neighbourhood(data: ExplorerData, nb: Neighbourhood, ring_nodes: set[str] | None = None,
                      title: str = "", width: int = 900, height: int = 620) -> str:
    """Draw the shown nodes and their edges as an SVG document (text).

    Node types by shape and colour (:data:`NODE_STYLE`, legend in Chinese: person
    circle, account square, phone triangle, address diamond, household hexagon,
    handler pentagon); linking edges solid and dark, context edges dashed and
    light, each with its Chinese kind as a tooltip; ring members outlined in red;
    the centre larger; labels masked for the public audience. Layout: seeded
    spring layout of the small shown graph only (the same view draws the same).
    """
    import html as _html

    import networkx as nx

    esc = _html.escape
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="oc-network" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="Noto Sans CJK SC, WenQuanYi Micro Hei, sans-serif">'
            f'<rect width="100%" height="100%" fill="white"/>')
    more = sum(nb.truncated.values())
    caption = (title or "关系网络") + (f"（另有 {more} 个相邻节点未展开）" if more else "")
    parts = [head, f'<text x="10" y="22" font-size="15">{esc(caption)}</text>']
    if not nb.nodes:
        parts.append(f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle">没有关系网络记录</text></svg>')
        return "".join(parts)
    e = nb.edges()
    g = nx.Graph()
    g.add_nodes_from(nb.nodes)
    g.add_edges_from(zip(e["u"].astype(str), e["v"].astype(str)))
    pos = nx.spring_layout(g, seed=7, k=1.6 / max(1, len(nb.nodes)) ** 0.5)
    xy = np.array([pos[n] for n in nb.nodes])
    centre = (xy.min(axis=0) + xy.max(axis=0)) / 2
    scale = max(float(np.abs(xy - centre).max()), 1e-9)
    plot_w, plot_h = width - 260, height - 110          # the legend sits at the right
    cx, cy = 50 + plot_w / 2, 55 + plot_h / 2
    half = min(plot_w, plot_h) / 2 * (0.9 if len(nb.nodes) > 2 else 0.5)
    at = {n: (cx + half * (p[0] - centre[0]) / scale, cy + half * (p[1] - centre[1]) / scale)
          for n, p in zip(nb.nodes, xy)}
    link = e["link"].fillna(False).astype(bool).to_numpy() if "link" in e else np.ones(len(e), bool)
    for u, v, kind, lk in zip(e["u"].astype(str), e["v"].astype(str), e["kind"].astype(str), link):
        (x1, y1), (x2, y2) = at[u], at[v]
        dash = "" if lk else ' stroke-dasharray="5,4"'
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'stroke="{"#555555" if lk else "#bbbbbb"}" stroke-width="{1.6 if lk else 1}"{dash}>'
                     f'<title>{esc(EDGE_KIND_ZH.get(kind, kind))}</title></line>')
    ring_nodes = ring_nodes or set()
    for n in nb.nodes:
        kind = n.split(":", 1)[0]
        zh, _, colour = NODE_STYLE.get(kind, (kind, "o", "#999999"))
        x, y = at[n]
        r = 11 if n == nb.centre else 7
        ring = n in ring_nodes
        label = node_label(data, n).split("\n")
        parts.append(f'<g class="oc-node" data-kind="{esc(kind)}"><title>{esc(zh + "：" + " ".join(label))}</title>'
                     + _marker(kind, x, y, r, colour, "#c00000" if ring else "white", 2.5 if ring else 1)
                     + "".join(f'<text x="{x:.1f}" y="{y + r + 11 + 11 * i:.1f}" font-size="10" '
                               f'text-anchor="middle">{esc(t)}</text>' for i, t in enumerate(label))
                     + "</g>")
    lx, ly = width - 180, 50
    legend = [(k, *v) for k, v in NODE_STYLE.items()]
    for i, (kind, zh, _, colour) in enumerate(legend):
        parts.append(_marker(kind, lx, ly + 22 * i, 6, colour, "white", 1)
                     + f'<text x="{lx + 14}" y="{ly + 22 * i + 4}" font-size="11">{esc(zh)}</text>')
    y0 = ly + 22 * len(legend)
    parts.append(f'<circle cx="{lx}" cy="{y0}" r="6" fill="white" stroke="#c00000" stroke-width="2.5"/>'
                 f'<text x="{lx + 14}" y="{y0 + 4}" font-size="11">关联圈成员</text>'
                 f'<line x1="{lx - 8}" y1="{y0 + 22}" x2="{lx + 8}" y2="{y0 + 22}" stroke="#555555" stroke-width="1.6"/>'
                 f'<text x="{lx + 14}" y="{y0 + 26}" font-size="11">共用账户/手机号</text>'
                 f'<line x1="{lx - 8}" y1="{y0 + 44}" x2="{lx + 8}" y2="{y0 + 44}" stroke="#bbbbbb" '
                 f'stroke-dasharray="5,4"/><text x="{lx + 14}" y="{y0 + 48}" font-size="11">地址、户、经办等背景关系</text>')
    parts.append("</svg>")
    return "".join(parts)

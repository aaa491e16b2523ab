"""Per-ring drawings (never the whole graph) and masking of identifiers.

Masking (anything public, ``FOCUS_PROBLEMS.md``): resident ID and account keep
the first 4 and last 4 characters (``4201**********1234``); a phone keeps the
first 3 and last 4 (``139****0001``).
"""

from __future__ import annotations


import matplotlib
import matplotlib.pyplot as plt
import networkx as nx

from ..core.errors import ParameterError
from ..core.mask import mask_value  # noqa: F401  (re-exported)
from .neighbourhood import node_text

STYLE = {  # kind: (marker, colour, Chinese legend)
    "person": ("o", "#4C72B0", "人员"), "account": ("s", "#DD8452", "账户"),
    "phone": ("^", "#55A868", "手机号"), "address": ("D", "#8172B3", "地址"),
    "household": ("h", "#937860", "户"), "handler": ("p", "#DA8BC3", "经办人"),
}
KIND_ORDER = ("person", "account", "phone", "address", "handler", "household")


def _use_cjk_font() -> None:
    """Register the CJK font with matplotlib (one shared implementation: ``report.fonts``)."""
    from ..core.fonts import use_cjk_font
    use_cjk_font()


def ring_nodes(network, ring_id: str, limit: int | None = None) -> list[str]:
    """Nodes of a ring: its component, then attached addresses/handlers/households.

    Persons come first, then accounts, phones, addresses, handlers and
    households, cut at ``limit`` nodes.

    Raises
    ------
    ParameterError
        When ``ring_id`` is not a ring of the network.
    """
    rings = network.rings
    hit = rings[rings["ring_id"] == ring_id]
    if hit.empty:
        raise ParameterError(f"没有关联圈 {ring_id}。")
    first = "person:" + hit["members"].iloc[0].split(";")[0]
    comp = network.component[first]
    core = list(network.component.index[network.component.values == comp])
    g = network.graph
    extra = {n for c in core for n in g.neighbors(c) if g.nodes[n]["kind"] in ("address", "handler", "household")
             and not g.nodes[n].get("hub")}
    nodes = sorted(set(core) | extra, key=lambda n: (KIND_ORDER.index(g.nodes[n]["kind"]), n))
    return nodes[:limit] if limit else nodes


#: Plot area of a drawing in points (A4 width: 7.5 x 6.2 inch figure, legend at the right).
AREA_PT = (440.0, 380.0)


def _text_size(text: str, fontsize: float) -> tuple[float, float]:
    """Approximate width and height (points) of a label: CJK characters 1 em, others 0.55 em."""
    lines = text.split("\n")
    width = max(sum(fontsize if ord(c) > 0x2E7F else 0.55 * fontsize for c in line) for line in lines)
    return width + 4, len(lines) * fontsize * 1.25 + 4


def _layout(g: nx.Graph, labels: dict, fontsize: float) -> dict:
    """Deterministic positions in points: sorted nodes and edges, fixed seed and start,
    scaled to :data:`AREA_PT`, then spread so no two label boxes overlap."""
    h = nx.Graph()
    h.add_nodes_from(sorted(g.nodes))
    h.add_edges_from(sorted(tuple(sorted(e)) for e in g.edges))
    if len(h) == 1:
        return {n: (0.0, 0.0) for n in h}
    pos = nx.spring_layout(h, pos=nx.circular_layout(h), seed=7, k=2.6 / len(h) ** 0.5, iterations=300)
    sizes = {n: _text_size(labels[n], fontsize) for n in h}
    return _spread(pos, sizes)


def _spread(pos: dict, sizes: dict, rounds: int = 300) -> dict:
    """Push apart nodes whose boxes (marker on top, label of ``sizes[n]`` = (w, h) points
    below it) overlap; vectorised over all pairs."""
    import numpy as np

    nodes = list(pos)
    xy = np.array([pos[n] for n in nodes], dtype=float)
    xy -= xy.min(axis=0)
    span = np.maximum(np.ptp(xy, axis=0), 1e-9)
    xy = xy / span * np.array(AREA_PT)
    wh = np.array([sizes[n] for n in nodes], dtype=float)
    half_w = (wh[:, 0][:, None] + wh[:, 0][None, :]) / 2
    tall = wh[:, 1] + 14.0                     # marker (about 14 pt) plus its label
    for _ in range(rounds):
        d = xy[:, None, :] - xy[None, :, :]
        over_x = half_w - np.abs(d[..., 0])
        over_y = np.where(d[..., 1] >= 0, tall[:, None], tall[None, :]) - np.abs(d[..., 1])
        clash = (over_x > 0) & (over_y > 0)
        np.fill_diagonal(clash, False)
        if not clash.any():
            break
        along_y = over_y <= over_x
        sign_x = np.where(d[..., 0] >= 0, 1.0, -1.0)
        sign_y = np.where(d[..., 1] >= 0, 1.0, -1.0)
        push_x = np.where(clash & ~along_y, sign_x * over_x / 2, 0.0).sum(axis=1)
        push_y = np.where(clash & along_y, sign_y * over_y / 2, 0.0).sum(axis=1)
        xy += np.stack([push_x, push_y], axis=1) * 0.6
    return {n: (float(x), float(y)) for n, (x, y) in zip(nodes, xy)}


def draw_ring(network, ring_id: str, audience: str = "internal", ax=None, title_id: str | None = None):
    """Draw one ring (at most ``max_draw_nodes`` nodes, default 50), legible at A4.

    Node types by shape and colour (人员 o, 账户 s, 手机号 ^, 地址 D, 经办人 p,
    户 h); linking edges solid, other edges dashed; Chinese labels placed below
    their marker on a white box (never under a marker, never clipped: the axes
    keep a margin); IDs, accounts, phones and names masked when ``audience='public'``;
    the title shows ``title_id`` (the ring's 公开编号 in public output) instead of
    ``ring_id``, and never the ring id in public output (``GQ-?`` when no number is given).
    The layout is deterministic (sorted nodes and edges, fixed initial
    positions); the title's score uses :func:`onecard.core.labels.format_score`,
    the same formatter as the report tables.

    Returns
    -------
    matplotlib.figure.Figure
        A4-width figure (7.5 x 6.2 inches).

    Raises
    ------
    ParameterError
        When the ring does not exist or ``audience`` is not internal/public.
    """
    from ..core.labels import format_score

    if audience not in ("internal", "public"):
        raise ParameterError(f"audience 应为 internal 或 public，实际为 {audience!r}。")
    _use_cjk_font()
    limit = int(network.params.get("max_draw_nodes", 50))
    g = network.graph.subgraph(ring_nodes(network, ring_id, limit))
    fontsize = 7 if len(g) > 20 else 8
    labels = {n: node_text(g, n, audience).replace("（", "\n（") for n in g.nodes}
    pos = _layout(g, labels, fontsize)
    half = {n: _text_size(labels[n], fontsize)[0] / 2 for n in g.nodes}
    x0 = min(pos[n][0] - half[n] for n in g.nodes) - 6
    x1 = max(pos[n][0] + half[n] for n in g.nodes) + 6
    y0 = min(pos[n][1] - _text_size(labels[n], fontsize)[1] for n in g.nodes) - 16
    y1 = max(p[1] for p in pos.values()) + 14
    if ax is None:   # one data unit = one point, so the label boxes keep their sizes
        fig = plt.figure(figsize=((x1 - x0) / 72 + 1.3, (y1 - y0) / 72 + 0.5))
        ax = fig.add_axes([0.1 / ((x1 - x0) / 72 + 1.3), 0.05 / ((y1 - y0) / 72 + 0.5),
                           ((x1 - x0) / 72) / ((x1 - x0) / 72 + 1.3), ((y1 - y0) / 72) / ((y1 - y0) / 72 + 0.5)])
    else:
        fig = ax.figure
    solid = sorted((u, v) for u, v, d in g.edges(data=True) if d["link"])
    dashed = sorted((u, v) for u, v, d in g.edges(data=True) if not d["link"])
    nx.draw_networkx_edges(g, pos, edgelist=solid, ax=ax, width=1.6, edge_color="#444444")
    nx.draw_networkx_edges(g, pos, edgelist=dashed, ax=ax, width=0.8, style="dashed", edge_color="#999999")
    size = 260 if len(g) > 20 else 360
    for kind, (marker, colour, legend) in STYLE.items():
        nodes = sorted(n for n, d in g.nodes(data=True) if d["kind"] == kind)
        if nodes:
            drawn = nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_shape=marker, node_color=colour,
                                           node_size=size, ax=ax, label=legend)
            drawn.set_zorder(3)       # above the edges; labels (spread apart) above all
    font = matplotlib.rcParams["font.sans-serif"][0]
    for n in sorted(g.nodes):
        x, y = pos[n]
        ax.annotate(labels[n], (x, y), xytext=(0, -9),
                    textcoords="offset points", ha="center", va="top", fontsize=fontsize, family=font,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8},
                    annotation_clip=False, zorder=4)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    row = network.rings.set_index("ring_id").loc[ring_id]
    shown = title_id or (ring_id if audience == "internal" else "GQ-?")
    fig.suptitle(f"关联圈 {shown}（{row['township']}）：{row['households']}户 {row['persons']}人，"
                 f"评分 {format_score(row['score'])}（疑点，待核实）", fontsize=10, y=0.995, va="top")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, markerscale=0.6, frameon=False,
              borderaxespad=0.2)
    ax.set_axis_off()
    return fig

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


def draw_ring(network, ring_id: str, audience: str = "internal", ax=None, title_id: str | None = None):
    """Draw one ring (at most ``max_draw_nodes`` nodes, default 50).

    Node types by shape and colour (人员 o, 账户 s, 手机号 ^, 地址 D, 经办人 p,
    户 h); linking edges solid, other edges dashed; Chinese labels; IDs,
    accounts, phones and names masked when ``audience='public'``; the title shows
    ``title_id`` (the ring's 公开编号 in public output) instead of ``ring_id``, and
    never the ring id in public output (``GQ-?`` when no number is given).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ParameterError
        When the ring does not exist or ``audience`` is not internal/public.
    """
    if audience not in ("internal", "public"):
        raise ParameterError(f"audience 应为 internal 或 public，实际为 {audience!r}。")
    _use_cjk_font()
    limit = int(network.params.get("max_draw_nodes", 50))
    g = network.graph.subgraph(ring_nodes(network, ring_id, limit))
    if ax is None:
        fig, ax = plt.subplots(figsize=(10, 8))
    else:
        fig = ax.figure
    pos = nx.spring_layout(g, seed=7, k=1.2 / max(len(g), 1) ** 0.5)
    solid = [(u, v) for u, v, d in g.edges(data=True) if d["link"]]
    dashed = [(u, v) for u, v, d in g.edges(data=True) if not d["link"]]
    nx.draw_networkx_edges(g, pos, edgelist=solid, ax=ax, width=1.6, edge_color="#444444")
    nx.draw_networkx_edges(g, pos, edgelist=dashed, ax=ax, width=0.8, style="dashed", edge_color="#999999")
    for kind, (marker, colour, legend) in STYLE.items():
        nodes = [n for n, d in g.nodes(data=True) if d["kind"] == kind]
        if nodes:
            nx.draw_networkx_nodes(g, pos, nodelist=nodes, node_shape=marker, node_color=colour,
                                   node_size=420, ax=ax, label=legend)
    labels = {n: node_text(g, n, audience).replace("（", "\n（") for n in g.nodes}
    nx.draw_networkx_labels(g, pos, labels=labels, font_size=7, ax=ax,
                            font_family=matplotlib.rcParams["font.sans-serif"][0])
    row = network.rings.set_index("ring_id").loc[ring_id]
    shown = title_id or (ring_id if audience == "internal" else "GQ-?")
    ax.set_title(f"关联圈 {shown}（{row['township']}）：{row['households']}户 {row['persons']}人，"
                 f"评分 {row['score']:.1f}（疑点，待核实）", fontsize=11)
    ax.legend(loc="lower right", fontsize=8, markerscale=0.6)
    ax.set_axis_off()
    return fig

"""Export a township's graph or one ring to GraphML or GEXF (for Gephi, yEd).

Attributes are made GraphML-safe: missing values become ``''``, lists are
``;``-joined, numpy scalars become Python ``int``/``float``/``str``.
"""

from __future__ import annotations

from pathlib import Path

import networkx as nx
import numpy as np

from ..core.errors import ParameterError
from ..core.mask import Publisher, mask_value
from .draw import ring_nodes


def _safe(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return ";".join(str(v) for v in value)
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return "" if np.isnan(value) else float(value)
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, (int, float, str)):
        return value
    try:
        import pandas as pd
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    return str(value)


def select(network, township: str | None = None, ring_id: str | None = None) -> nx.Graph:
    """The subgraph to export: one ring, one township (its persons and their
    direct identifiers), or the whole network when both are ``None``.

    Raises
    ------
    ParameterError
        When both are given, or the township has no persons in the network.
    """
    g = network.graph
    if township is not None and ring_id is not None:
        raise ParameterError("township 与 ring_id 只能指定一个。")
    if ring_id is not None:
        return g.subgraph(ring_nodes(network, ring_id))
    if township is None:
        return g
    people = [n for n, d in g.nodes(data=True) if d["kind"] == "person" and d.get("township") == township]
    if not people:
        raise ParameterError(f"网络中没有属于 {township} 的人员。")
    nodes = set(people)
    for p in people:
        nodes.update(g.neighbors(p))
    return g.subgraph(nodes)


def export_graph(network, path, township: str | None = None, ring_id: str | None = None,
                 fmt: str | None = None, audience: str = "internal",
                 publisher: Publisher | None = None) -> Path:
    """Write the township graph, one ring, or the whole network to GraphML/GEXF.

    Parameters
    ----------
    path : path-like
        Output file; ``fmt`` defaults to its suffix (``.graphml`` / ``.gexf``).
    township, ring_id : str, optional
        At most one; see :func:`select`.
    fmt : {'graphml', 'gexf'}, optional
    audience : {'internal', 'public'}
        ``public``: node ids are ``<kind>:<n>``; ``value``/``label`` masked (IDs,
        accounts, phones by their rule, names ``张*丰``, addresses and handlers through
        the free-text masker); ``household`` is a per-file number (``户1``...);
        ``ring_id`` is the ring's 公开编号; edge ``rows`` (source refs) dropped.
    publisher : onecard.core.mask.Publisher, optional
        The run's names and 公开编号 (``Run.publisher``); without one, names are
        masked by rule only and ring ids become ``GQ-?``.

    Returns
    -------
    Path
        The written file. Node/edge attributes as in :attr:`Network.graph`.

    Raises
    ------
    ParameterError
        On an unknown format, or see :func:`select`.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in ("graphml", "gexf"):
        raise ParameterError(f"导出格式应为 graphml 或 gexf，实际为 {fmt!r}。")
    sub = select(network, township, ring_id)
    out = nx.Graph()
    mapping = {}
    public = audience == "public"
    pub = publisher or Publisher()
    households: dict = {}
    for i, (n, d) in enumerate(sorted(sub.nodes(data=True), key=lambda x: str(x[0]))):
        attrs = {k: _safe(v) for k, v in d.items()}
        if public:
            attrs = public_node(attrs, pub, households)
            mapping[n] = f"{attrs.get('kind')}:{i + 1}"
        else:
            mapping[n] = n
        out.add_node(mapping[n], **attrs)
    for u, v, d in sub.edges(data=True):
        attrs = {k: _safe(val) for k, val in d.items()}
        if public:
            attrs.pop("rows", None)
        out.add_edge(mapping[u], mapping[v], **attrs)
    path.parent.mkdir(parents=True, exist_ok=True)
    (nx.write_graphml if fmt == "graphml" else nx.write_gexf)(out, path)
    return path


def public_node(attrs: dict, pub: Publisher, households: dict) -> dict:
    """Public copy of one node's attributes (see :func:`export_graph`); ``households``
    carries the household numbering across the nodes of one file."""
    kind = attrs.get("kind", "")
    out = dict(attrs)
    if kind in ("person", "account", "phone"):
        out["value"] = mask_value(kind, attrs.get("value", ""))
    elif kind == "household":
        out["value"] = households.setdefault(attrs.get("value", ""), f"户{len(households) + 1}")
    else:
        out["value"] = pub.value(mask_value(kind, attrs.get("value", "")))
    label = attrs.get("label", "")
    out["label"] = mask_value("name", label) if kind == "person" else out["value"]
    hh = attrs.get("household", "")
    out["household"] = households.setdefault(hh, f"户{len(households) + 1}") if hh else ""
    if attrs.get("ring_id"):
        out["ring_id"] = pub.number(attrs["ring_id"])
    return out

"""Import tables for link-analysis tools such as i2 Analyst's Notebook (issue 12).

Beside GraphML/GEXF, each township and ring is written as two CSV files (UTF-8
with BOM, formula-safe):

- ``<stem>_entities.csv``: ``entity_id, type, label, township`` — one row per node;
  ``type`` in Chinese (人员, 账户, 手机号, 地址, 经办人, 户); ``label`` is the node's
  readable text (:func:`onecard.graph.neighbourhood.node_text`; public labels masked as
  in the GraphML export, :func:`onecard.graph.export.public_node`). Public files number the entities ``E0001 …`` in sorted node order, so
  no identifier (nor a hash of one) is written.
- ``<stem>_links.csv``: ``from, to, type, value`` — one row per edge; ``type`` in
  Chinese (收款, 预留手机号 …; an edge of several kinds joins them with 、); ``value`` is the money paid along the edge in 元
  (``paid_into``) or else the number of source rows behind it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.cells import safe_frame
from ..core.mask import Publisher
from .export import public_node, select
from .neighbourhood import node_text

__all__ = ["export_i2", "ENTITY_TYPE_ZH", "LINK_TYPE_ZH"]

ENTITY_TYPE_ZH = {"person": "人员", "account": "账户", "phone": "手机号", "address": "地址",
                  "handler": "经办人", "household": "户"}
LINK_TYPE_ZH = {"paid_into": "收款", "holds": "持卡", "reserved_phone": "预留手机号",
                "contact_phone": "联系电话", "home_address": "住址", "card_address": "开卡地址",
                "approved_by": "审批经办", "relative": "亲属", "guardian": "监护人",
                "official_account": "公职人员账户", "official_phone": "公职人员手机号"}


def _labels(g, nodes: list[str], audience: str, publisher: Publisher | None) -> list[str]:
    """Node texts; public ones from the same node masking as the GraphML export
    (:func:`onecard.graph.export.public_node`: names, IDs, accounts, phones, addresses)."""
    if audience != "public":
        return [node_text(g, n, audience) for n in nodes]
    pub, households, out = publisher or Publisher(), {}, []
    for n in nodes:
        attrs = public_node(dict(g.nodes[n]), pub, households)
        kind = attrs.get("kind", "")
        out.append(f"{attrs['label'] or '（无姓名）'}（{attrs['value']}）" if kind == "person"
                   else f"{ENTITY_TYPE_ZH.get(kind, kind)} {attrs['value']}")
    return out


def export_i2(network, folder: str | Path, stem: str, *, township: str | None = None,
              ring_id: str | None = None, audience: str = "internal",
              publisher: Publisher | None = None) -> list[Path]:
    """Write ``folder/<stem>_entities.csv`` and ``folder/<stem>_links.csv``.

    Parameters
    ----------
    network : onecard.graph.Network
    township, ring_id : str, optional
        What to export (:func:`onecard.graph.export.select`).
    audience : {"internal", "public"}
    publisher : onecard.core.mask.Publisher, optional
        The run's names and 公开编号 (``Run.publisher``) for public labels.

    Returns
    -------
    list of Path
        The two files.

    Raises
    ------
    ParameterError
        As :func:`onecard.graph.export.select`.
    """
    g = select(network, township=township, ring_id=ring_id)
    nodes = sorted(g.nodes)
    public = audience == "public"
    ids = {n: (f"E{i:04d}" if public else n) for i, n in enumerate(nodes, start=1)}
    entities = pd.DataFrame({
        "entity_id": [ids[n] for n in nodes],
        "type": [ENTITY_TYPE_ZH.get(g.nodes[n].get("kind"), g.nodes[n].get("kind")) for n in nodes],
        "label": _labels(g, nodes, audience, publisher),
        "township": [g.nodes[n].get("township", "") or "" for n in nodes]})
    edges = sorted((min(u, v), max(u, v), d) for u, v, d in g.edges(data=True))
    amount = pd.Series([d.get("amount_fen", 0) or 0 for *_, d in edges], dtype="int64")
    rows = pd.Series([d.get("n_rows", 0) or 0 for *_, d in edges], dtype="int64")
    kinds = [d.get("kind", "") for *_, d in edges]
    paid = pd.Series(["paid_into" in str(k).split(";") for k in kinds], dtype=bool)
    links = pd.DataFrame({"from": [ids[u] for u, _, _ in edges], "to": [ids[v] for _, v, _ in edges],
                          "type": ["、".join(LINK_TYPE_ZH.get(k, k) for k in str(kind).split(";") if k)
                                   for kind in kinds],
                          "value": (amount / 100).where(paid, rows.astype(float)).round(2)})
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{stem}_entities.csv", folder / f"{stem}_links.csv"]
    safe_frame(entities).to_csv(paths[0], index=False, encoding="utf-8-sig")
    safe_frame(links).to_csv(paths[1], index=False, encoding="utf-8-sig")
    return paths

"""Shared-identifier network: rings, officials' links, cards held by others.

Public API::

    net = build_network(ctx)            # Network: graph, rings, ring_members, hubs, institutions
    fig = draw_ring(net, ring_id, audience="public")
    export_graph(net, "out.graphml", township="奓山街道")
    neighbourhood(net, "person:420114...", k=2)
    ring_of(net, "account:6217...")
    explain_link(net, person_a, person_b)

See ``docs/graph.md`` for the model, the ring score and the parameters
(``parameters/graph.yaml``). The rules of this layer live in
:mod:`onecard.rules.network`.
"""

from .network import Network, build_network
from .params import load_graph_params
from ..core.mask import mask_value
from .draw import draw_ring
from .export import export_graph
from .neighbourhood import explain_link, neighbourhood, ring_of

__all__ = ["Network", "build_network", "load_graph_params", "draw_ring", "mask_value",
           "export_graph", "neighbourhood", "ring_of", "explain_link"]

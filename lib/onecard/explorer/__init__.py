"""The case explorer investigators work in (issue 13): find, a person's story, the
network around a person/account/phone, decisions into the ledger.

Modules, each usable without widgets:

- :mod:`.data` opens a finished run fast and builds the search and lookup indexes;
- :mod:`.find` filters findings and renders them as Chinese HTML tables;
- :mod:`.story` assembles a person's story (entitlements, timeline, findings, rows);
- :mod:`.network` draws a neighbourhood from the stored edge table, one hop at a time,
  and answers "why are these two linked" with a path;
- :mod:`.decide` is the one adapter to the ledger (statuses, field table, recording);
- :mod:`.app` wires them to ipywidgets (:func:`build_explorer`) and gives the
  batch-mode output (:func:`batch_view`).
"""

from .data import ExplorerData, open_run

__all__ = ["ExplorerData", "open_run", "build_explorer", "batch_view"]


def build_explorer(*args, **kwargs):
    """See :func:`onecard.explorer.app.build_explorer` (imported lazily: ipywidgets)."""
    from .app import build_explorer as _build
    return _build(*args, **kwargs)


def batch_view(*args, **kwargs):
    """See :func:`onecard.explorer.app.batch_view`."""
    from .app import batch_view as _batch
    return _batch(*args, **kwargs)

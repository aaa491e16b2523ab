"""The problem ledger a run belongs to, when there is one.

The ledger path comes from the run's ``manifest.json`` (``ledger.path``) or is
given explicitly (``--ledger``); a run without a ledger gets ``None`` and the
reports fall back to the run's own figures (and the township parameters).
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["run_ledger_path", "open_run_ledger"]


def run_ledger_path(manifest: dict | None, override: str | Path | None = None) -> Path | None:
    """``override``, else the manifest's ``ledger.path`` when that file exists, else None."""
    if override:
        return Path(override)
    entry = (manifest or {}).get("ledger") or {}
    path = entry.get("path") if isinstance(entry, dict) else entry
    return Path(path) if path and Path(path).exists() else None


def open_run_ledger(manifest: dict | None, override: str | Path | None = None, *, readonly: bool = True):
    """The run's ledger opened (read-only by default), or None when the run has none.

    Raises
    ------
    onecard.ledger.store.LedgerError
        When ``override`` names a file that is not a ledger.
    """
    path = run_ledger_path(manifest, override)
    if path is None:
        return None
    from ..ledger.store import open_ledger

    return open_ledger(path, readonly=readonly)

"""``RUNDIR/manifest.json``: what a run read, did and how far it got.

Keys (``DATA_CONTRACT.md``, "Run outputs"): ``run_id``, ``status``, ``started``,
``finished``, ``parameters`` (``RunParameters.record``), ``folders`` (``run``,
``work``), ``policy``, ``inputs`` (file, bytes, sha256), ``intake``,
``unreadable``, ``skipped``, ``versions``, ``timings`` (seconds per stage),
``stages`` (names of the stages completed), ``findings``, ``rules``,
``townships`` (township, folder, status, error), ``district_summary``, ``failed``.

``status`` is ``running`` while a run writes the folder, ``finished`` or
``failed`` at the end. A run killed on the way leaves ``running`` with a lock
whose process is gone: :func:`read_manifest` reports it as ``interrupted``
(and ``onecard run --resume`` rewrites it).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import time
from importlib import metadata
from pathlib import Path

from .lock import lock_is_stale, read_lock

__all__ = ["Manifest", "read_manifest", "sha256_file", "input_files", "versions", "PACKAGES",
           "RUNNING", "INTERRUPTED", "FINISHED", "FAILED"]

RUNNING, INTERRUPTED, FINISHED, FAILED = "running", "interrupted", "finished", "failed"
PACKAGES = ["pandas", "numpy", "pyarrow", "networkx", "matplotlib", "papermill", "jinja2",
            "weasyprint", "openpyxl", "xlrd", "python-calamine", "python-stdnum", "pyyaml"]


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def versions() -> dict:
    """Installed versions of the packages a run depends on (None when absent)."""
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def input_files(data: Path) -> list[dict]:
    """``[{"file", "bytes", "sha256"}]`` of every file of the delivery, sorted."""
    files = [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())
    base = data.parent if data.is_file() else data
    return [{"file": str(p.relative_to(base)), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in files]


def read_manifest(folder: Path) -> dict | None:
    """The manifest of a run folder with its status as it stands now, or None.

    A manifest saying ``running`` whose lock is gone or belongs to a dead process
    reads ``interrupted``.
    """
    path = Path(folder) / "manifest.json"
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    full = Path((data.get("folders") or {}).get("work") or "") / "manifest.json"
    if data.get("public_copy") and full.is_file():  # a public run: the full record is private
        data = json.loads(full.read_text(encoding="utf-8"))
    if data.get("status", RUNNING) == RUNNING:
        lock = read_lock(folder)
        if lock is None or lock_is_stale(lock):
            data["status"] = INTERRUPTED
    return data


class Manifest:
    """The manifest of one run, written after every stage (atomically: temp + rename)."""

    def __init__(self, folder: Path, data: dict | None = None):
        #: Full names of the run's people, masked in a public run's manifest copy.
        self.names: list[str] = []
        self.folder = Path(folder)
        self.data = data if data is not None else {}
        self.data.setdefault("timings", {})
        self.data.setdefault("stages", [])
        self._t_start = time.perf_counter() - float(self.data["timings"].get("total", 0) or 0)

    def __getitem__(self, key):
        return self.data[key]

    def __setitem__(self, key, value):
        self.data[key] = value

    def get(self, key, default=None):
        return self.data.get(key, default)

    @contextlib.contextmanager
    def timed(self, name: str):
        """Record the seconds the block takes as ``timings[name]`` (the one timing helper)."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.data["timings"][name] = round(time.perf_counter() - t0, 2)

    def write(self) -> None:
        """Write the manifest. A public run's run folder gets a copy with every text
        masked (names, digit runs: core.mask.mask_json) marked ``public_copy``; the full
        record (input file names, intake conflicts...) goes to its work folder, where
        ``--resume`` reads it."""
        self.data["timings"]["total"] = round(time.perf_counter() - self._t_start, 2)
        public = (self.data.get("parameters") or {}).get("audience") == "public"
        work = Path((self.data.get("folders") or {}).get("work") or self.folder)
        if public and work.resolve() != self.folder.resolve():
            from ..core.mask import mask_json

            work.mkdir(parents=True, exist_ok=True)
            _write_json(work / "manifest.json", self.data)
            _write_json(self.folder / "manifest.json",
                        {**mask_json(self.data, self.names), "public_copy": True})
        else:
            _write_json(self.folder / "manifest.json", self.data)

    def finish(self, status: str) -> None:
        self.data["status"] = status
        self.data["finished"] = dt.datetime.now().isoformat(timespec="seconds")
        self.write()


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    os.replace(tmp, path)

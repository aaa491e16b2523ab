"""Scan every file of a public run folder for personal data (issue 10).

Used by ``tests/test_public_leaks.py``; also runnable by hand::

    PYTHONPATH=lib python tests/leak_scan.py DATA RUNDIR [WORKDIR]

What counts as a leak:

- a full identifier of the input tables (every column of kind id / cert / account /
  phone in ``onecard.core.tables.TABLES``) anywhere in a file's text or its path;
- a full name (2+ characters) of the input tables (every column of kind ``name``);
- a hash-like token (``[0-9a-f]{12,}``, which covers ``R`` + 12 hex ring ids) that is
  a prefix of a hash the product could have made from an identifier: the run's own
  ``finding_id``s and ring ids (read from the work folder), ``finding_id``/``ring_id``
  of each identifier and masked identifier, and SHA-1/SHA-256/MD5 of each.

Text extraction by content, whatever the extension: PDF text (pypdf), every member
of a zip (xlsx/docx XML), parquet (as CSV), JSON/ipynb (re-dumped unescaped), HTML
(unescaped), anything else decoded as UTF-8/GB18030.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pandas as pd

#: Folders of RUNDIR not scanned because they are still written there until the
#: runner's ``--work`` folder is merged. THE LEAD EMPTIES THIS AT MERGE: a public run
#: folder then holds no internal folder at all.
ALLOWED_INTERNAL: tuple[str, ...] = ()  # intake/ and analysis/ live in the work folder (RUNDIR.internal)

ID_KINDS = ("id", "cert", "account", "phone")
HEX_RUN = re.compile(r"[0-9a-f]{12,}")


def input_secrets(tables: dict[str, pd.DataFrame]) -> tuple[set[str], set[str]]:
    """(identifiers, names) of the canonical ``tables``: every value of an id-like or
    name column; identifiers of 6+ characters, names of 2+ characters."""
    from onecard.core.tables import TABLES

    ids, names = set(), set()
    for table, frame in tables.items():
        kinds = TABLES.get(table, {})
        for col, kind in kinds.items():
            if col not in frame.columns:
                continue
            values = frame[col].dropna().astype(str).str.strip()
            if kind in ID_KINDS:
                ids |= {v for v in values.unique() if len(v) >= 6 and "*" not in v}
            elif kind == "name":
                names |= {v for v in values.unique() if len(v) >= 2 and "*" not in v}
    return ids, names


def text_of(path: Path) -> str:
    """All readable text of one file (see module docstring)."""
    raw = path.read_bytes()
    parts = [str(path.name)]
    if raw.startswith(b"%PDF"):
        from pypdf import PdfReader
        reader = PdfReader(io.BytesIO(raw))
        parts += [page.extract_text() or "" for page in reader.pages]
        parts.append(json.dumps({str(k): str(v) for k, v in (reader.metadata or {}).items()},
                                ensure_ascii=False))
        return "\n".join(parts)
    if raw.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            for member in z.namelist():
                parts.append(member)
                parts.append(html.unescape(_decode(z.read(member))))
        return "\n".join(parts)
    if raw.startswith(b"PAR1"):
        frame = pd.read_parquet(io.BytesIO(raw))
        parts.append(frame.to_csv(index=True))
        return "\n".join(parts)
    text = _decode(raw)
    try:
        parts.append(json.dumps(json.loads(text), ensure_ascii=False))
    except ValueError:
        pass
    parts.append(text)
    parts.append(html.unescape(text))
    return "\n".join(parts)


def _decode(raw: bytes) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="replace")


def hash_candidates(ids: set[str], internal_hashes: set[str], rule_ids: list[str]) -> set[str]:
    """Hex digests the product (or anyone) could derive from the identifiers."""
    from onecard.core.findings import finding_id, ring_id
    from onecard.core.mask import mask_id, mask_phone

    out = {h.lower().lstrip("r") for h in internal_hashes if h}
    series = pd.Series(sorted(ids), dtype="string")
    masked = set(mask_id(series)) | set(mask_phone(series))
    for v in ids | masked:
        b = v.encode("utf-8")
        out.add(hashlib.sha1(b).hexdigest())
        out.add(hashlib.sha256(b).hexdigest())
        out.add(hashlib.md5(b).hexdigest())
        out.add(ring_id([v])[1:])
        out.update(finding_id(r, v, "", "") for r in rule_ids)
    return out


def by_prefix(candidates: set[str]) -> dict[str, list[str]]:
    """Candidate digests keyed by their first 12 characters."""
    out: dict[str, list[str]] = {}
    for c in candidates:
        out.setdefault(c[:12], []).append(c)
    return out


def reversed_tokens(text: str, prefixes: dict[str, list[str]]) -> list[str]:
    """Hex runs of ``text`` that contain a 12+ character prefix of a candidate digest."""
    hits = []
    for m in HEX_RUN.finditer(text):
        run = m.group(0)
        for i in range(len(run) - 11):
            for c in prefixes.get(run[i:i + 12], ()):
                j = i + 12
                while j < len(run) and j - i < len(c) and run[j] == c[j - i]:
                    j += 1
                hits.append(run[i:j])
    return hits


def found(text: str, values: set[str], runs: re.Pattern) -> set[str]:
    """Members of ``values`` that occur in ``text`` inside a maximal match of ``runs``
    (every substring of every run is looked up: exact, no regex alternation)."""
    lengths = sorted({len(v) for v in values})
    hits = set()
    for m in runs.finditer(text):
        run = m.group(0)
        for n in lengths:
            if n > len(run):
                break
            hits.update(run[i:i + n] for i in range(len(run) - n + 1) if run[i:i + n] in values)
    return hits


ID_RUN = re.compile(r"[0-9A-Za-z]{6,}")
CJK_RUN = re.compile(r"[\u3400-\u9fff\U00020000-\U0002ffff·]{2,}")


def scan(data: Path, run_dir: Path, work_dir: Path | None = None,
         allowed: tuple[str, ...] = ALLOWED_INTERNAL) -> dict:
    """Scan ``run_dir``; returns ``{"files": n, "leaks": [(file, kind, value)], "by_type": Counter}``.

    ``kind`` is ``id``, ``name`` or ``hash``; ``by_type`` counts leaks per
    (file suffix, kind).
    """
    from onecard.intake import intake_path
    from onecard.rules.catalogue import CATALOGUE, _ensure_loaded

    _ensure_loaded()

    tables = intake_path(data).tables
    ids, names = input_secrets(tables)
    work = work_dir or run_dir
    internal = set()
    fpath = work / "analysis" / "findings.parquet"
    if fpath.exists():
        f = pd.read_parquet(fpath)
        internal |= set(f["finding_id"].dropna().astype(str))
        rings = f.loc[f["subject_type"] == "ring", "subject_id"].dropna().astype(str)
        internal |= set(rings)
    rpath = work / "analysis" / "rings.parquet"
    if rpath.exists():
        internal |= set(pd.read_parquet(rpath)["ring_id"].dropna().astype(str))
    prefixes = by_prefix(hash_candidates(ids, internal, list(CATALOGUE)))
    leaks, n = [], 0
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(run_dir)
        if rel.parts[0] in allowed:
            continue
        n += 1
        text = str(rel) + "\n" + text_of(path)
        leaks += [(str(rel), "id", v) for v in found(text, ids, ID_RUN)]
        leaks += [(str(rel), "name", v) for v in found(text, names, CJK_RUN)]
        leaks += [(str(rel), "hash", t) for t in set(reversed_tokens(text, prefixes))]
    by_type = Counter((Path(f).suffix or Path(f).name, k) for f, k, _ in leaks)
    return {"files": n, "leaks": leaks, "by_type": by_type, "ids": len(ids), "names": len(names)}


if __name__ == "__main__":
    args = [Path(a) for a in sys.argv[1:]]
    result = scan(args[0], args[1], args[2] if len(args) > 2 else None)
    sys.stdout.write(f"files {result['files']}, input ids {result['ids']}, names {result['names']}\n")
    for (suffix, kind), count in sorted(result["by_type"].items()):
        sys.stdout.write(f"{suffix}\t{kind}\t{count}\n")
    for f, kind, v in result["leaks"][:40]:
        sys.stdout.write(f"  {f}\t{kind}\t{v}\n")

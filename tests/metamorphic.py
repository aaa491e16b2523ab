"""Transformations for the metamorphic tests (``tests/test_metamorphic.py``).

A metamorphic test holds where no answer key exists: the same delivery, told
differently, must give the same findings (STYLE.md, "Metamorphic tests";
issue 9 item 2). Two levels:

- **File level** (a delivery folder, e.g. the demo generator's): the folder is
  read into :class:`Part` objects (one per sheet: table, file, sheet, header
  texts, data rows as the cells were read, typed cells kept typed) with the
  intake's own readers and layout finder, transformed, and written back as
  ``.xlsx`` workbooks into a fresh folder. The baseline is the *untransformed*
  rewrite, so every comparison is between two deliveries written the same way.
- **Table level** (canonical frames, e.g. ``tests/scenarios.py``): the same
  transformations applied to the frames intake would produce.

Every transformation is deterministic (seeded).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from onecard.core.resources import parameter_path
from onecard.intake.headers import load_lexicon, normalise_header, recognise_table
from onecard.intake.layout import find_layout
from onecard.intake.pipeline import published_list
from onecard.intake.headers import map_headers
from onecard.intake.readers import read_file

#: Reference tables whose rows may be sent twice without changing any finding.
REFERENCE_TABLES = ("roster", "deaths", "moves", "custody", "dibao", "other_benefits", "officials",
                    "relations", "banks", "disclosures")
#: Optional columns whose blanking may remove findings but never add one.
OPTIONAL_COLUMNS = ("approver", "handler", "household_id", "guardian_id", "phone", "address",
                    "opened_by", "closed_on", "card_status")
#: Columns holding resident IDs (written in other spellings by :func:`id_variants`).
ID_COLUMNS = ("person_id", "holder_id", "guardian_id", "official_id", "relative_id",
              "household_head_id", "cert_no")


@dataclass
class Part:
    """One data sheet of a delivery.

    ``headers`` are the header texts as written; ``canon`` the canonical column
    each maps to (``None`` for unmapped); ``rows`` the data rows (lists of cells,
    typed cells as read: str, float, int, datetime or None).
    """

    table: str
    file: str
    sheet: str
    headers: list
    canon: list
    rows: list


# ------------------------------------------------------------------ file level
def read_delivery(folder: Path) -> list[Part]:
    """Every data sheet of ``folder`` as a :class:`Part` (title, total and footer rows left out)."""
    lexicon = load_lexicon()
    spellings = lexicon.all_spellings()
    parts = []
    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        _, _, sheets = read_file(path)
        for s in sheets:
            if s.hidden:
                continue
            layout = find_layout(s, spellings)
            if layout is None:
                continue
            names = [normalise_header(h)[0] for h in layout.headers]
            table = recognise_table(path.name, names, lexicon)
            colmap = map_headers(names, table, lexicon)
            if table == "payouts" and published_list(layout, colmap, names, lexicon, None):
                table = "disclosures"
                colmap = map_headers(names, table, lexicon)
            body = layout.body.loc[[i for i in layout.body.index if i not in layout.dropped]]
            rows = [[None if (isinstance(v, float) and np.isnan(v)) else v for v in r]
                    for r in body.itertuples(index=False)]
            parts.append(Part(table, path.stem, s.name or "Sheet1", list(layout.headers),
                              [colmap.get(i) for i in range(len(names))], rows))
    return parts


def write_delivery(parts: list[Part], folder: Path) -> Path:
    """Write ``parts`` as ``.xlsx`` workbooks (one per ``Part.file``, one sheet per part)."""
    import xlsxwriter

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    by_file: dict[str, list[Part]] = {}
    for p in parts:
        by_file.setdefault(p.file, []).append(p)
    for stem, group in by_file.items():
        wb = xlsxwriter.Workbook(str(folder / f"{stem}.xlsx"), {"constant_memory": True,
                                                                "strings_to_numbers": False,
                                                                "strings_to_formulas": False,
                                                                "strings_to_urls": False})
        date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
        used = set()
        for p in group:
            name = re.sub(r"[\[\]:*?/\\]", "_", p.sheet)[:28] or "Sheet"
            while name in used:
                name = name[:26] + f"_{len(used)}"
            used.add(name)
            ws = wb.add_worksheet(name)
            for c, h in enumerate(p.headers):
                ws.write_string(0, c, "" if h is None else str(h))
            for r, row in enumerate(p.rows, start=1):
                for c, v in enumerate(row):
                    _write_cell(ws, r, c, v, date_fmt)
        wb.close()
    return folder


def _write_cell(ws, r, c, v, date_fmt):
    if v is None or (isinstance(v, str) and v == ""):
        return
    if isinstance(v, bool):
        ws.write_boolean(r, c, v)
    elif isinstance(v, (int, float, np.integer, np.floating)):
        ws.write_number(r, c, float(v))
    elif isinstance(v, (dt.datetime, dt.date, pd.Timestamp)):
        ws.write_datetime(r, c, pd.Timestamp(v).to_pydatetime(), date_fmt)
    else:
        ws.write_string(r, c, str(v))


def shuffle_parts(parts: list[Part], seed: int = 1) -> list[Part]:
    """Rows of every sheet in random order, and the sheets of every file in reverse order."""
    rng = np.random.default_rng(seed)
    out = [replace(p, rows=[p.rows[i] for i in rng.permutation(len(p.rows))]) for p in parts]
    return out[::-1]


def duplicate_reference_parts(parts: list[Part]) -> list[Part]:
    """Every row of every reference table sent twice (the copy right after the original rows)."""
    return [replace(p, rows=p.rows + [list(r) for r in p.rows]) if p.table in REFERENCE_TABLES else p
            for p in parts]


def split_parts(parts: list[Part]) -> list[Part]:
    """Every sheet split in two: alternately into a second sheet of the same workbook
    or into a second workbook (``<file>_续``)."""
    out = []
    for i, p in enumerate(parts):
        if len(p.rows) < 2:
            out.append(p)
            continue
        half = len(p.rows) // 2
        second_file = p.file if i % 2 == 0 else f"{p.file}_续"
        out += [replace(p, sheet=f"{p.sheet}_上", rows=p.rows[:half]),
                replace(p, file=second_file, sheet=f"{p.sheet}_下", rows=p.rows[half:])]
    return out


def contract_spellings() -> dict[str, dict[str, list[str]]]:
    """``{table: {canonical: [spelling, ...]}}`` from ``parameters/headers.yaml``."""
    data = yaml.safe_load(parameter_path("headers.yaml").read_text(encoding="utf-8")) or {}
    return {t: {c: list(s or []) for c, s in cols.items()} for t, cols in data.items()}


def respell_headers(parts: list[Part]) -> list[Part]:
    """Every mapped header replaced by the *next* contract spelling of its column
    (cyclic; the canonical name itself is not used). Unmapped headers stay."""
    spell = contract_spellings()
    out = []
    for p in parts:
        headers = list(p.headers)
        taken = {normalise_header(h)[0] for h in headers}
        for i, c in enumerate(p.canon):
            options = spell.get(p.table, {}).get(c, [])
            if c is None or len(options) < 2:
                continue
            now = normalise_header(headers[i])[0]
            k = next((j for j, s in enumerate(options) if normalise_header(s)[0] == now), -1)
            for step in range(1, len(options)):
                cand = options[(k + step) % len(options)]
                if normalise_header(cand)[0] not in taken:
                    taken.discard(now)
                    taken.add(normalise_header(cand)[0])
                    headers[i] = cand
                    break
        out.append(replace(p, headers=headers))
    return out


_FULL = str.maketrans("0123456789Xx", "０１２３４５６７８９Ｘｘ")


def _id_variant(v, k: int):
    if not isinstance(v, str):
        return v
    return v.translate(_FULL) if k % 2 == 0 else v.replace("X", "x")


def id_variants(parts: list[Part]) -> list[Part]:
    """ID text cells written in full-width digits (even rows) or with a lowercase ``x`` (odd rows).

    Typed (numeric) cells are left as they are: they are not text IDs.
    """
    out = []
    for p in parts:
        cols = [i for i, c in enumerate(p.canon) if c in ID_COLUMNS]
        if not cols:
            out.append(p)
            continue
        rows = [list(r) for r in p.rows]
        for k, r in enumerate(rows):
            for i in cols:
                r[i] = _id_variant(r[i], k)
        out.append(replace(p, rows=rows))
    return out


def blank_column_parts(parts: list[Part], column: str) -> list[Part]:
    """Every cell of canonical ``column`` blanked (the header stays: an entirely blank column)."""
    out = []
    for p in parts:
        cols = [i for i, c in enumerate(p.canon) if c == column]
        if not cols:
            out.append(p)
            continue
        rows = [[None if i in cols else v for i, v in enumerate(r)] for r in p.rows]
        out.append(replace(p, rows=rows))
    return out


def columns_present(parts: list[Part]) -> set[str]:
    """Canonical columns with at least one non-blank cell in some part."""
    have = set()
    for p in parts:
        for i, c in enumerate(p.canon):
            if c and any(r[i] not in (None, "") for r in p.rows):
                have.add(c)
    return have


FILE_TRANSFORMS = {
    "shuffle": shuffle_parts,
    "duplicate_reference": duplicate_reference_parts,
    "split": split_parts,
    "headers": respell_headers,
    "ids": id_variants,
}


# ----------------------------------------------------------------- table level
def shuffle_tables(tables: dict, seed: int = 1) -> dict:
    """Rows of every table in random order (provenance kept)."""
    rng = np.random.default_rng(seed)
    return {t: df.iloc[rng.permutation(len(df))].reset_index(drop=True) for t, df in tables.items()}


def reverse_tables(tables: dict) -> dict:
    """Rows of every table in reverse order: every pair of duplicate keys swaps places."""
    return {t: df.iloc[::-1].reset_index(drop=True) for t, df in tables.items()}


def duplicate_reference_tables(tables: dict) -> dict:
    """Every reference table's rows twice (exact copies, provenance included)."""
    return {t: pd.concat([df, df], ignore_index=True) if t in REFERENCE_TABLES else df
            for t, df in tables.items()}


def split_tables(tables: dict) -> dict:
    """Every table as if from two files: the second half's ``_file``/``_sheet``/``_row`` renumbered."""
    out = {}
    for t, df in tables.items():
        df = df.copy()
        half = len(df) // 2
        if "_file" in df:
            df["_file"] = df["_file"].astype("string")
            df.loc[half:, "_file"] = df["_file"].iloc[half:] + "_续"
            df["_sheet"] = df["_sheet"].astype("string")
            df.loc[half:, "_sheet"] = "Sheet2"
            df["_row"] = pd.array(np.r_[np.arange(2, half + 2), np.arange(2, len(df) - half + 2)],
                                  dtype="Int64")
        out[t] = df
    return out


def blank_column_tables(tables: dict, column: str) -> dict:
    """Canonical ``column`` entirely blank in every table that has it (dtype kept)."""
    out = {}
    for t, df in tables.items():
        if column in df:
            df = df.copy()
            df[column] = pd.Series(pd.NA, index=df.index).astype(df[column].dtype)
        out[t] = df
    return out


TABLE_TRANSFORMS = {
    "shuffle": shuffle_tables,
    "reverse": reverse_tables,
    "duplicate_reference": duplicate_reference_tables,
    "split": split_tables,
}


# ------------------------------------------------------------------- comparing
def finding_keys(findings: pd.DataFrame) -> dict[str, set]:
    """``{rule_id: {finding_id}}``."""
    return {r: set(g["finding_id"]) for r, g in findings.groupby("rule_id")}


def subject_keys(findings: pd.DataFrame) -> dict[str, set]:
    """``{rule_id: {(subject_id, subsidy)}}`` (what "adds a finding" is judged on)."""
    sub = findings["subsidy"].astype("string").fillna("")
    keys = pd.DataFrame({"r": findings["rule_id"], "s": findings["subject_id"].astype("string"), "u": sub})
    return {r: set(zip(g["s"], g["u"])) for r, g in keys.groupby("r")}

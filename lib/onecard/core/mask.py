"""Masking for public-audience outputs (公开版): IDs, accounts and phones.

The plan requires that ID numbers and bank accounts are masked in anything
published (FOCUS_PROBLEMS.md, "Typical cases"). Functions are vectorised over
a Series of text and leave missing values missing.

- ID ``420114195803120138`` -> ``4201**********0138`` (first 4, last 4 kept)
- account ``6228480000000012344`` -> ``6228***********2344``
- phone ``13900000001`` -> ``139****0001``
- name ``张三丰`` -> ``张*丰``; two characters ``张三`` -> ``张*``
- free text (evidence and every other text field): every full name of the run's
  people (:func:`people_names`) and every run of 11+ digits are masked with the
  rules above, wherever they stand in the sentence (:class:`TextMasker`);
- findings and rings get a per-run public number (公开编号, ``GK-0001``, ``GQ-001``,
  :func:`public_numbers`) instead of ``finding_id`` / ring id, which are hashes of
  identifiers and reversible once the ID is masked to a million candidates.

``run_id`` stays in public files: it is the start time plus 8 hex characters of a
SHA-1 over the input files' SHA-256 digests (``batch.runner``) - a hash of file
contents, which the manifest lists anyway, never of a person's identifier.

:class:`Publisher` bundles the three (names, digits, numbers): reports, views,
exports and graph files all mask through it (issue 10).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd


def _keep_ends(values: pd.Series, head: int, tail: int) -> pd.Series:
    s = values.astype("string")
    n = s.str.len()
    short = n <= head + tail
    stars = (n - head - tail).clip(lower=0).fillna(0).astype(int).map(lambda k: "*" * k)
    out = s.str[:head] + stars.astype("string") + s.str[-tail:]
    return out.where(~short, s)


def mask_id(values: pd.Series) -> pd.Series:
    """Mask resident IDs: keep the first 4 and last 4 characters."""
    return _keep_ends(values, 4, 4)


def mask_account(values: pd.Series) -> pd.Series:
    """Mask account numbers: keep the first 4 and last 4 digits."""
    return _keep_ends(values, 4, 4)


def mask_phone(values: pd.Series) -> pd.Series:
    """Mask phone numbers: keep the first 3 and last 4 digits."""
    return _keep_ends(values, 3, 4)


def mask_name(values: pd.Series) -> pd.Series:
    """Mask names: keep the first and (for 3+ characters) the last character."""
    s = values.astype("string")
    n = s.str.len()
    two = s.str[:1] + "*"
    longer = s.str[:1] + (n - 2).clip(lower=1).fillna(1).astype(int).map(lambda k: "*" * k).astype("string") + s.str[-1:]
    return longer.where(n > 2, two.where(n == 2, s))


#: Which masker applies to which column name in findings and tables.
COLUMN_MASKS = {
    "person_id": mask_id, "holder_id": mask_id, "guardian_id": mask_id,
    "official_id": mask_id, "relative_id": mask_id, "household_head_id": mask_id,
    "account_no": mask_account, "phone": mask_phone, "name": mask_name,
    "holder_name": mask_name, "account_name": mask_name, "guardian_name": mask_name,
    "姓名": mask_name, "身份证号": mask_id,
}

#: Columns that are never free text about a person (codes, places, periods): left as they are.
PLAIN_COLUMNS = frozenset({
    "rule_id", "clause", "severity", "township", "village", "subject_type", "subsidy",
    "period_start", "period_end", "months", "amount_fen", "run_id", "public_no", "公开编号",
    "街道", "村(社区)", "角色", "标记", "title_zh", "表", "原因", "工作表", "街道（乡镇）",
    "街道(乡镇)", "reason", "kind",
})

#: Columns holding names of people, beyond those of kind ``name`` in ``core.tables``:
#: handlers, approvers and card openers are people too.
EXTRA_NAME_COLUMNS = {"entitlements": ("approver", "handler"), "cards": ("opened_by",)}

#: Digit runs masked in free text: 11+ digits (phones, accounts, IDs), optional check ``X``.
DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{11,}[Xx]?(?![0-9])")
#: Internal ids that never leave in public files.
RING_ID = re.compile(r"R[0-9a-f]{12}")
HEX_ID = re.compile(r"(?<![0-9A-Za-z])(?=[0-9]*[a-f])[0-9a-f]{16}(?![0-9A-Za-z])")

FINDING_PREFIX, RING_PREFIX = "GK-", "GQ-"


def _mask_one_name(name: str) -> str:
    """``张三丰`` -> ``张*丰``, ``张三`` -> ``张*``, ``欧阳小明`` -> ``欧**明``."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def _mask_digits(match: re.Match) -> str:
    digits = match.group(0)
    head = 3 if len(digits) == 11 else 4
    return digits[:head] + "*" * (len(digits) - head - 4) + digits[-4:]


def people_names(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Distinct full names (2+ characters) of every person in the run's ``tables``.

    Every column of kind ``name`` in ``core.tables.TABLES`` (payouts ``name`` and
    ``account_name``, roster ``name`` and ``guardian_name``, cards ``holder_name``,
    officials, deaths ...) plus :data:`EXTRA_NAME_COLUMNS`. One-character values are
    dropped: masking them would wipe ordinary text.

    Returns
    -------
    list of str, longest first (the order the masking alternation needs).
    """
    from .tables import TABLES

    found = []
    for table, frame in (tables or {}).items():
        if frame is None or not len(frame):
            continue
        cols = [c for c, kind in TABLES.get(table, {}).items() if kind == "name"]
        cols += list(EXTRA_NAME_COLUMNS.get(table, ()))
        for col in cols:
            if col in frame.columns:
                found.append(frame[col].dropna().astype(str).str.strip())
    if not found:
        return []
    names = pd.concat(found, ignore_index=True).drop_duplicates()
    names = names[(names.str.len() >= 2) & ~names.str.contains("*", regex=False)]
    return sorted(names.tolist(), key=lambda n: (-len(n), n))


class TextMasker:
    """Mask free text: the given full names (``张*丰``) and every 11+ digit run.

    One regex alternation of the distinct names, longest first, so ``欧阳小明`` is
    masked whole before ``欧阳`` could match; names shorter than 2 characters are
    ignored. Vectorised over a Series (``Series.str.replace``); missing stays missing.
    """

    def __init__(self, names=()):
        names = sorted({str(n) for n in names if isinstance(n, str) and len(n) >= 2},
                       key=lambda n: (-len(n), n))
        self.names = names
        self._names_re = re.compile("|".join(map(re.escape, names))) if names else None

    def series(self, values: pd.Series) -> pd.Series:
        """Masked copy of a Series of text."""
        s = values.astype("string")
        if self._names_re is not None:
            s = s.str.replace(self._names_re, lambda m: _mask_one_name(m.group(0)), regex=True)
        return s.str.replace(DIGIT_RUN, _mask_digits, regex=True)

    def text(self, value) -> str:
        """Masked copy of one string (``None`` -> ``''``)."""
        if value is None:
            return ""
        return str(self.series(pd.Series([str(value)], dtype="string"))[0])


def public_numbers(findings: pd.DataFrame | None, rings: pd.DataFrame | None) -> pd.DataFrame:
    """The per-run public numbers (公开编号): ``kind, internal_id, public_no``.

    Findings are numbered ``GK-0001``... in the analysis' order (township, rule,
    subject - ``run_catalogue`` sorts them); rings ``GQ-001``... by township, then
    score (highest first), then ring id. The numbers say nothing about any person.
    The mapping belongs in the work folder only (``analysis/public_ids.csv``).
    """
    parts = []
    if findings is not None and len(findings) and "finding_id" in findings.columns:
        ids = findings["finding_id"].dropna().astype(str).drop_duplicates()
        width = max(4, len(str(len(ids))))
        parts.append(pd.DataFrame({"kind": "finding", "internal_id": ids.values,
                                   "public_no": [f"{FINDING_PREFIX}{i:0{width}d}"
                                                 for i in range(1, len(ids) + 1)]}))
    if rings is not None and len(rings) and "ring_id" in rings.columns:
        r = rings.assign(_s=-pd.to_numeric(rings.get("score", 0), errors="coerce").fillna(0))
        sort = [c for c in ("township", "_s", "ring_id") if c in r.columns]
        ids = r.sort_values(sort, kind="stable")["ring_id"].dropna().astype(str).drop_duplicates()
        width = max(3, len(str(len(ids))))
        parts.append(pd.DataFrame({"kind": "ring", "internal_id": ids.values,
                                   "public_no": [f"{RING_PREFIX}{i:0{width}d}"
                                                 for i in range(1, len(ids) + 1)]}))
    if not parts:
        return pd.DataFrame({"kind": pd.Series(dtype=str), "internal_id": pd.Series(dtype=str),
                             "public_no": pd.Series(dtype=str)})
    return pd.concat(parts, ignore_index=True)


@dataclass
class Publisher:
    """Everything public output needs to identify nobody (one implementation, issue 10).

    Parameters
    ----------
    names : sequence of str
        Full names of the run's people (:func:`people_names`).
    numbers : DataFrame
        :func:`public_numbers` of the run (``kind, internal_id, public_no``).
    """

    names: list = field(default_factory=list)
    numbers: pd.DataFrame = field(default_factory=lambda: public_numbers(None, None))

    @cached_property
    def masker(self) -> TextMasker:
        return TextMasker(self.names)

    @cached_property
    def _ids(self) -> dict[str, str]:
        return dict(zip(self.numbers["internal_id"].astype(str), self.numbers["public_no"]))

    def number(self, internal_id) -> str:
        """The public number of a finding or ring id; ``GQ-?`` / ``GK-?`` when unknown."""
        key = "" if internal_id is None else str(internal_id)
        if key in self._ids:
            return self._ids[key]
        return (RING_PREFIX if RING_ID.fullmatch(key) else FINDING_PREFIX) + "?" if key else ""

    def text(self, values: pd.Series) -> pd.Series:
        """Free text masked: internal ids -> public numbers, names and digit runs masked."""
        s = values.astype("string")
        s = s.str.replace(RING_ID, lambda m: self.number(m.group(0)), regex=True)
        s = s.str.replace(HEX_ID, lambda m: self.number(m.group(0)), regex=True)
        return self.masker.series(s)

    def value(self, value) -> str:
        """:meth:`text` of one value (``None`` -> ``''``)."""
        if value is None:
            return ""
        return str(self.text(pd.Series([str(value)], dtype="string"))[0])

    def frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Public copy of ``frame``: see :func:`mask_frame`."""
        return mask_frame(frame, self)


def mask_frame(frame: pd.DataFrame, publisher: Publisher | None = None) -> pd.DataFrame:
    """Copy of ``frame`` with nothing in it that identifies a person.

    - known identifier and name columns (:data:`COLUMN_MASKS`) masked by their rule;
    - ``finding_id`` replaced by ``public_no`` (公开编号) as the first column, ring ids
      (``ring_id`` column and ``R…`` in any text) by ``GQ-…``;
    - every other text column (``evidence``, ``subject_id``, ``related_ids``, ring
      ``members``/``accounts``/``phones``, file names ...) through the free-text
      masker: the publisher's names and every 11+ digit run;
    - :data:`PLAIN_COLUMNS` (places, codes, periods) and numeric columns unchanged.

    Without a ``publisher`` only the name column rules and digit runs apply (no list
    of the run's names is known); missing values stay missing.
    """
    pub = publisher or Publisher()
    out = frame.copy()
    if "finding_id" in out.columns:
        numbers = out["finding_id"].map(pub.number).astype("string")
        out = out.drop(columns=["finding_id"])
        out.insert(0, "public_no", numbers)
    if "ring_id" in out.columns:
        out["ring_id"] = out["ring_id"].map(pub.number).astype("string")
    if "household" in out.columns:
        out["household"] = household_numbers(out["household"])
    for col in out.columns:
        if col in COLUMN_MASKS:
            out[col] = COLUMN_MASKS[col](out[col])
        elif col in PLAIN_COLUMNS or col in ("ring_id", "household"):
            continue
        elif (pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col])) \
                and not pd.api.types.is_bool_dtype(out[col]):
            out[col] = pub.text(out[col].astype(object).where(out[col].notna(), None)
                                .map(lambda v: v if v is None or isinstance(v, str) else str(v)))
    return out


def household_numbers(values: pd.Series) -> pd.Series:
    """Household labels (a roster household number or a member's ID) replaced by their
    order of appearance in ``values``: ``户1``, ``户2``... (same label, same number)."""
    codes, _ = pd.factorize(values.astype("string"))
    out = pd.Series([f"户{c + 1}" if c >= 0 else pd.NA for c in codes], index=values.index,
                    dtype="string")
    return out


def mask_value(kind: str, value: str) -> str:
    """Mask one identifier for public output, with the same rules as the Series maskers.

    ``person`` (resident ID) and ``account``: first 4 + ``*`` + last 4;
    ``phone``: first 3 + ``*`` + last 4; ``name``: ``张*丰``; ``household`` and
    ``handler`` (a household number, a handler's name) never leave: ``*``-masked
    like an ID or a name. Short or other values unchanged.
    """
    value = "" if value is None else str(value)
    if not value:
        return value
    if kind in ("name", "handler"):
        return _mask_one_name(value)
    fn = {"person": mask_id, "account": mask_account, "phone": mask_phone,
          "household": mask_id}.get(kind)
    return str(fn(pd.Series([value], dtype="string"))[0]) if fn else value


def mask_json(value, names=()):
    """A JSON-like value (dicts, lists, strings, numbers) with every string masked by
    :class:`TextMasker` (the given full names, every 11+ digit run); keys are kept.
    Used for the manifest a public run folder holds."""
    masker = TextMasker(names)

    def walk(v):
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [walk(x) for x in v]
        return masker.text(v) if isinstance(v, str) else v

    return walk(value)

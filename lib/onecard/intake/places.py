"""Townships, villages, addresses and banks: names folded to official forms.

Source: DATA_CONTRACT.md (township/village, address, bank); official lists in
``parameters/reference/caidian_divisions.csv`` and
``caidian_township_aliases.csv``; bank aliases in ``parameters/banks.yaml``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from ..core import reference
from ..core.resources import parameter_path
from .values import is_blank

__all__ = [
    "township_lookup", "match_township", "match_villages", "VillageMatch", "normalise_address",
    "normalise_bank", "load_banks",
]

_WS = re.compile(r"[\s\u200b\ufeff\u3000\u00a0]+")


def _clean(raw) -> str:
    return _WS.sub("", unicodedata.normalize("NFKC", str(raw)))


@lru_cache(maxsize=None)
def township_lookup() -> dict[str, tuple[str, str]]:
    """Spelling -> (official name, 9-digit code): official, alias, short forms."""
    out: dict[str, tuple[str, str]] = {}
    t = reference.townships()
    for code, name in zip(t["code"], t["name"]):
        forms = {name}
        for suffix in ("街道办事处", "街道", "乡", "镇"):
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                base = name[: -len(suffix)]
                forms |= {base, base + "街", base + "街道办事处", base + "街办", base + "镇", base + "乡"}
        for f in forms:
            out.setdefault(f, (name, code))
    a = reference.township_aliases()
    for alias, official, code in zip(a["alias"], a["official_name"], a["code"]):
        out[alias] = (official, code)
    return out


def match_township(raw):
    """Township cell -> ``((name, code), flags, reason)``; unknown kept, flagged ``township_unknown``."""
    if is_blank(raw):
        return (None, None), (), None
    text = _clean(raw)
    text = re.sub(r"^(湖北省)?(武汉市)?(蔡甸区)?", "", text) or text
    hit = township_lookup().get(text)
    if hit:
        return hit, (), None
    return (text, None), ("township_unknown",), None


#: Official village name suffixes -> the spellings derived from the base name. A 村委会
#: gives ``X村``, a 社区居委会 ``X社区``; never across kinds (``永安村`` is not 永安社区居委会).
_VILLAGE_KINDS = (
    (("村民委员会", "村委会"), ("", "村", "村委会", "村民委员会")),
    (("社区居民委员会", "社区居委会", "居民委员会", "居委会"), ("", "社区", "居委会", "社区居委会", "社区居民委员会")),
    (("委员会",), ("",)),
)


@dataclass(frozen=True)
class VillageLookup:
    """Village spellings per township.

    Attributes
    ----------
    official : dict of (township code, name) -> (official name, code)
        Exact official names (and the name with whitespace removed).
    derived : dict of (township code, spelling) -> (official name, code)
        Spellings derived from one official village's base name, same kind only.
    ambiguous : set of (township code, spelling)
        Derived spellings two official villages of the township share (``永安`` in
        永安街道: 永安社区 or 永安村): matched to neither.
    """

    official: dict
    derived: dict
    ambiguous: frozenset


@lru_cache(maxsize=None)
def _village_lookup() -> VillageLookup:
    """Build :class:`VillageLookup` from ``reference/caidian_divisions.csv``."""
    official: dict[tuple[str, str], tuple[str, str]] = {}
    derived: dict[tuple[str, str], set[tuple[str, str]]] = {}
    v = reference.villages()
    for code, name, tcode in zip(v["code"], v["name"], v["township_code"]):
        official.setdefault((tcode, _clean(name)), (name, code))
        for suffixes, endings in _VILLAGE_KINDS:
            suffix = next((x for x in suffixes if name.endswith(x)), None)
            if suffix is None:
                continue
            base = name[: -len(suffix)]
            for e in endings:
                if base + e:
                    derived.setdefault((tcode, base + e), set()).add((name, code))
            break
    unique = {k: next(iter(v)) for k, v in derived.items() if len(v) == 1 and k not in official}
    ambiguous = frozenset(k for k, v in derived.items() if len(v) > 1 and k not in official)
    return VillageLookup(official, unique, ambiguous)


@dataclass
class VillageMatch:
    """Result of :func:`match_villages` (Series aligned with the input).

    Attributes
    ----------
    name, code : pd.Series (string)
        Official name (the cleaned raw text when not matched) and 12-digit code or NA.
    unknown : pd.Series (bool)
        A non-blank name that matches no official village of its township.
    ambiguous : pd.Series (bool)
        A name two official villages of the township could be (kept as written).
    renamed : pd.Series (bool)
        The name was folded to a *different* official spelling.
    renames : list of dict
        One entry per distinct rename: ``raw``, ``township_code``, ``official``,
        ``code``, ``rows``.
    """

    name: pd.Series
    code: pd.Series
    unknown: pd.Series
    ambiguous: pd.Series
    renamed: pd.Series
    renames: list[dict]


def match_villages(township_codes: pd.Series, villages: pd.Series) -> VillageMatch:
    """Match village names only within their township.

    An exact official village name of the row's township is never replaced. Only a
    name that matches no official village there is folded, through spellings derived
    from one official name of the same kind (``X村`` -> ``X村委会``, ``X社区`` ->
    ``X社区居委会``); a spelling two villages share stays as written, flagged ambiguous.
    Every fold to a different text is returned in ``renames`` (issue 9 §8: 永安村委会
    of 永安街道 must stay 永安村委会, code 420114003202).

    Parameters
    ----------
    township_codes, villages : pd.Series
        Aligned; village text as cleaned by the pipeline.

    Returns
    -------
    VillageMatch
    """
    lookup = _village_lookup()
    pairs = pd.DataFrame({"t": township_codes.astype(object), "v": villages.astype(object)})
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(pairs.fillna("\x00")))
    counts = np.bincount(codes[codes >= 0], minlength=len(uniq)) if len(uniq) else np.zeros(0, int)
    names, vcodes, unknown, ambiguous, renamed, renames = [], [], [], [], [], []
    for (t, v), n_rows in zip(uniq, counts):
        if v == "\x00":
            names.append(None), vcodes.append(None), unknown.append(False), ambiguous.append(False)
            renamed.append(False)
            continue
        key = _clean(v)
        hit = None
        if t != "\x00":
            hit = lookup.official.get((t, key)) or lookup.derived.get((t, key))
        amb = hit is None and (t, key) in lookup.ambiguous
        changed = hit is not None and hit[0] != key
        names.append(hit[0] if hit else key), vcodes.append(hit[1] if hit else None)
        unknown.append(hit is None and not amb), ambiguous.append(amb), renamed.append(changed)
        if changed:
            renames.append({"raw": key, "township_code": t, "official": hit[0], "code": hit[1],
                            "rows": int(n_rows)})
    idx = villages.index

    def per_row(values, dtype):
        return pd.Series(pd.array(values, dtype=dtype).take(codes), index=idx)

    return VillageMatch(per_row(names, "string"), per_row(vcodes, "string"), per_row(unknown, bool),
                        per_row(ambiguous, bool), per_row(renamed, bool), renames)


# ---------------------------------------------------------------- addresses
_NUM = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
        "八": 8, "九": 9}
_UNIT_NUM = re.compile(r"([零〇一二两三四五六七八九十百]+)(号楼|栋|幢|单元|楼|层|室|号|组)")


def _cn_to_int(text: str) -> int | None:
    if all(c in _NUM for c in text):
        return int("".join(str(_NUM[c]) for c in text))
    total, cur = 0, 0
    for c in text:
        if c in _NUM:
            cur = _NUM[c]
        elif c == "十":
            total += (cur or 1) * 10
            cur = 0
        elif c == "百":
            total += (cur or 1) * 100
            cur = 0
        else:
            return None
    return total + cur


@lru_cache(maxsize=None)
def _address_prefixes() -> tuple[str, ...]:
    names = {"湖北省", "武汉市", "蔡甸区", "湖北", "武汉"}
    path = reference.reference_path("hubei_counties.csv")
    if path.exists():
        names |= set(pd.read_csv(path, dtype=str)["name"].dropna())
    return tuple(sorted(names, key=len, reverse=True))


def normalise_address(raw):
    """Address -> text with province/city/district prefixes stripped.

    Chinese numerals are folded only directly before a building/unit/room
    word (``三栋二单元`` -> ``3栋2单元``; ``三里村`` unchanged); ``幢``/``号楼`` -> ``栋``.
    """
    if is_blank(raw):
        return None, (), None
    text = _clean(raw)
    prefixes = _address_prefixes()
    changed = True
    while changed:
        changed = False
        for p in prefixes:
            if text.startswith(p) and len(text) > len(p):
                text, changed = text[len(p):], True
                break

    def fold(m: re.Match) -> str:
        n = _cn_to_int(m.group(1))
        return (str(n) if n is not None else m.group(1)) + m.group(2)

    text = _UNIT_NUM.sub(fold, text)
    text = re.sub(r"(\d+)(?:号楼|幢|栋)", r"\1栋", text)
    return text or None, (), None


# ---------------------------------------------------------------- banks
@lru_cache(maxsize=None)
def load_banks(path: str | None = None) -> tuple[tuple[str, str], ...]:
    """(spelling, canonical) pairs from ``parameters/banks.yaml``, longest spelling first."""
    p = Path(path) if path else parameter_path("banks.yaml")
    data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    pairs = []
    for canonical, aliases in data.items():
        for s in [canonical, *(aliases or [])]:
            pairs.append((_clean(s).upper(), canonical))
    return tuple(sorted(pairs, key=lambda x: len(x[0]), reverse=True))


_BRANCH = re.compile(r"(股份有限公司|有限责任公司|有限公司)?(.{0,20}?)(支行|分行|营业部|分理处|储蓄所|营业所|网点|分社)$")


def normalise_bank(raw):
    """Bank cell -> canonical bank name; unknown banks keep the text without branch, flagged ``bank_unknown``."""
    if is_blank(raw):
        return None, (), None
    text = _clean(raw).upper()
    for spelling, canonical in load_banks():
        if text == spelling or (text.startswith(spelling) and len(spelling) >= 2):
            return canonical, (), None
    m = re.match(r"^(.*?(?:银行|信用社|信用合作社))", text)
    if m:
        return m.group(1), ("bank_unknown",), None
    return _BRANCH.sub("", text) or text, ("bank_unknown",), None

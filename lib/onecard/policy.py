"""Policy as data: subsidy items, standards, eligibility, stop events, deadlines.

A policy file (``parameters/policy/*.yaml``) names the subsidy items with their
aliases, the standards by effective month and tier (grade, category,
registration type), eligibility conditions, mutually exclusive benefits, stop
events and the payment deadline, each figure with the document and URL it comes
from. A file may ``extends:`` another; the later file wins key by key (mappings
merge recursively, lists are replaced whole). See ``docs/policy.md``.

Public API::

    policy = load_policy()                       # parameters/policy/hubei.yaml
    policy.standard_fen("重度残疾人护理补贴", pd.Period("2021-03", "M"))  # -> 10000
    policy.standards_for(frame)                  # vectorised, Int64 fen
    policy.deadline(periods)                     # datetime64 deadlines

No yuan amount, deadline or threshold is a literal in rule code: rules ask this
object.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import yaml

from .errors import PolicyError
from .reference import PARAMETERS

__all__ = ["Policy", "load_policy", "DEFAULT_POLICY", "HUKOU_ALL", "GRADES_ALL", "CATEGORIES_ALL"]

DEFAULT_POLICY = PARAMETERS / "policy" / "hubei.yaml"
HUKOU_ALL = ("urban", "rural")
GRADES_ALL = (1, 2, 3, 4)
CATEGORIES_ALL = (1, 2, 3, 4, 5, 6, 7)

_TOP_KEYS = {"extends", "meta", "subsidies", "stop_events", "payment"}
_META_KEYS = {"title", "region", "verified", "note", "source"}
_SUBSIDY_KEYS = {"name", "aliases", "eligibility", "standards", "exclusive_with"}
_ELIG_KEYS = {"grades", "categories", "requires_coverage", "extended", "hukou", "source"}
_STANDARD_KEYS = {"from", "to", "yuan", "tiers", "source"}
_TIER_KEYS = {"hukou", "grades", "categories", "yuan"}
_SOURCE_KEYS = {"document", "url", "verified", "note"}
_STOP_KEYS = {"death", "move_out", "cert_end", "custody"}
_STOP_FILE_KEYS = _STOP_KEYS | {"source"}
_PAYMENT_KEYS = {"deadline_months_after", "deadline_day", "backpay_after_approval", "source"}


def _unknown(keys, allowed, where: str) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        raise PolicyError(f"政策文件键 {where} 含未知项：{', '.join(map(str, extra))}；"
                          f"允许的项为：{', '.join(sorted(allowed))}。")


def _month(value, where: str) -> pd.Period:
    try:
        return pd.Period(str(value), freq="M")
    except Exception as exc:  # noqa: BLE001 - any parse failure is a policy error
        raise PolicyError(f"政策文件键 {where} 的月份“{value}”无法识别，应为 YYYY-MM。") from exc


def _fen(value, where: str) -> int:
    try:
        fen = Decimal(str(value)) * 100
    except (InvalidOperation, ValueError) as exc:
        raise PolicyError(f"政策文件键 {where} 的金额“{value}”不是数字（单位：元/人/月）。") from exc
    if fen != fen.to_integral_value() or fen < 0:
        raise PolicyError(f"政策文件键 {where} 的金额“{value}”应为非负且最多两位小数的元。")
    return int(fen)


def _merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_chain(path: Path, seen: tuple = ()) -> tuple[dict, list[tuple[str, str]]]:
    path = Path(path).resolve()
    if path in seen:
        raise PolicyError(f"政策文件 extends 形成循环：{path}")
    if not path.exists():
        raise PolicyError(f"找不到政策文件：{path}")
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw.decode("utf-8")) or {}
    except yaml.YAMLError as exc:
        raise PolicyError(f"政策文件 {path.name} 不是有效的 YAML：{exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"政策文件 {path.name} 的顶层应为键值表。")
    _unknown(data, _TOP_KEYS, f"{path.name}:（顶层）")
    files = [(str(path), hashlib.sha256(raw).hexdigest())]
    parent = data.pop("extends", None)
    if parent:
        base, base_files = _read_chain(path.parent / str(parent), seen + (path,))
        return _merge(base, data), base_files + files
    return data, files


@dataclass(frozen=True)
class Standard:
    """One standard row: months ``start``..``end`` (inclusive; ``end`` None = open)."""

    subsidy: str
    start: pd.Period
    end: pd.Period | None
    flat_fen: int | None
    tiers: tuple  # of (hukou tuple, grades tuple, categories tuple, fen)
    verified: bool
    document: str
    url: str


@dataclass(frozen=True)
class Subsidy:
    """One subsidy item of the policy list."""

    key: str
    name: str
    aliases: tuple[str, ...]
    grades: tuple[int, ...]
    categories: tuple[int, ...]
    hukou: tuple[str, ...]
    extended: tuple  # of (grades tuple, categories tuple)
    requires_coverage: tuple[str, ...]
    exclusive_with: tuple[str, ...]
    standards: tuple[Standard, ...]

    def eligible_pairs(self) -> set[tuple[int, int]]:
        """(grade, category) pairs the item covers, extensions included."""
        pairs = {(g, c) for g in self.grades for c in self.categories}
        for grades, cats in self.extended:
            pairs |= {(g, c) for g in grades for c in cats}
        return pairs


def _parse_subsidy(key: str, d: dict) -> Subsidy:
    where = f"subsidies.{key}"
    if not isinstance(d, dict):
        raise PolicyError(f"政策文件键 {where} 应为键值表。")
    _unknown(d, _SUBSIDY_KEYS, where)
    for req in ("name", "standards"):
        if not d.get(req):
            raise PolicyError(f"政策文件键 {where}.{req} 缺失。")
    el = d.get("eligibility") or {}
    _unknown(el, _ELIG_KEYS, f"{where}.eligibility")
    grades = tuple(int(g) for g in el.get("grades", GRADES_ALL))
    cats = tuple(int(c) for c in el.get("categories", CATEGORIES_ALL))
    hukou = tuple(el.get("hukou", HUKOU_ALL))
    for g in grades:
        if g not in GRADES_ALL:
            raise PolicyError(f"政策文件键 {where}.eligibility.grades 含无效等级 {g}（应为1-4）。")
    for h in hukou:
        if h not in HUKOU_ALL:
            raise PolicyError(f"政策文件键 {where}.eligibility.hukou 含无效户籍性质 {h}（应为 urban/rural）。")
    extended = []
    for i, ext in enumerate(el.get("extended") or []):
        _unknown(ext, {"grades", "categories"}, f"{where}.eligibility.extended[{i}]")
        extended.append((tuple(int(g) for g in ext.get("grades", GRADES_ALL)),
                         tuple(int(c) for c in ext.get("categories", CATEGORIES_ALL))))
    name = str(d["name"])
    standards = []
    for i, s in enumerate(d["standards"]):
        sw = f"{where}.standards[{i}]"
        if not isinstance(s, dict):
            raise PolicyError(f"政策文件键 {sw} 应为键值表。")
        _unknown(s, _STANDARD_KEYS, sw)
        if "from" not in s:
            raise PolicyError(f"政策文件键 {sw}.from 缺失。")
        if ("yuan" in s) == ("tiers" in s):
            raise PolicyError(f"政策文件键 {sw} 须且只须给出 yuan（统一标准）或 tiers（分档表）之一。")
        src = s.get("source") or {}
        _unknown(src, _SOURCE_KEYS, f"{sw}.source")
        if not src.get("document") and not src.get("url"):
            raise PolicyError(f"政策文件键 {sw}.source 缺少 document 或 url：每个标准都须注明出处。")
        start = _month(s["from"], f"{sw}.from")
        end = _month(s["to"], f"{sw}.to") if s.get("to") is not None else None
        if end is not None and end < start:
            raise PolicyError(f"政策文件键 {sw} 的 to（{end}）早于 from（{start}）。")
        tiers = []
        if "tiers" in s:
            for j, t in enumerate(s["tiers"] or []):
                tw = f"{sw}.tiers[{j}]"
                _unknown(t, _TIER_KEYS, tw)
                if t.get("yuan") is None:
                    raise PolicyError(f"政策文件键 {tw}.yuan 未填写（分档标准须由区里填写）。")
                h = t.get("hukou", list(HUKOU_ALL))
                h = (h,) if isinstance(h, str) else tuple(h)
                tiers.append((h, tuple(int(g) for g in t.get("grades", GRADES_ALL)),
                              tuple(int(c) for c in t.get("categories", CATEGORIES_ALL)),
                              _fen(t["yuan"], f"{tw}.yuan")))
        std = Standard(name, start, end, _fen(s["yuan"], f"{sw}.yuan") if "yuan" in s else None,
                       tuple(tiers), bool(src.get("verified", False)), str(src.get("document", "")),
                       str(src.get("url", "")))
        standards.append(std)
    sub = Subsidy(key, name, tuple(str(a) for a in d.get("aliases") or []), grades, cats, hukou,
                  tuple(extended), tuple(str(c) for c in el.get("requires_coverage") or []),
                  _exclusive(d.get("exclusive_with"), f"{where}.exclusive_with"),
                  tuple(sorted(standards, key=lambda s: s.start)))
    _check_standards(sub, where)
    return sub


def _exclusive(value, where: str) -> tuple[str, ...]:
    """``exclusive_with``: a list of programmes, or ``{programs: [...], source: {...}}``."""
    if isinstance(value, dict):
        _unknown(value, {"programs", "source"}, where)
        _unknown(value.get("source") or {}, _SOURCE_KEYS, f"{where}.source")
        value = value.get("programs")
    return tuple(str(x) for x in value or [])


def _check_standards(sub: Subsidy, where: str) -> None:
    ordered = sub.standards
    for a, b in zip(ordered, ordered[1:]):
        if a.end is None or a.end >= b.start:
            raise PolicyError(f"政策文件键 {where}.standards 的日期区间重叠："
                              f"{a.start}起 与 {b.start}起 两条标准同时有效。")
    pairs = sub.eligible_pairs()
    for i, s in enumerate(ordered):
        if not s.tiers:
            continue
        for h in sub.hukou:
            for g, c in sorted(pairs):
                hits = [t for t in s.tiers if h in t[0] and g in t[1] and c in t[2]]
                if len(hits) != 1:
                    what = "没有标准" if not hits else "有多个标准"
                    raise PolicyError(
                        f"政策文件键 {where}.standards（{s.start}起）的分档表 tiers 中，"
                        f"户籍性质 {h}、等级 {g}、类别 {c} {what}；每个可享受的等级、类别和户籍性质须恰有一档。")


class Policy:
    """A validated, frozen policy. Build with :func:`load_policy`.

    Attributes
    ----------
    files : list of (str, str)
        Policy files read, base first, with their SHA-256.
    title : str
    verified : bool
        True only when every standard is marked verified against the official text.
    subsidy_names : mapping
        Subsidy key -> canonical Chinese item name.
    stop_events : mapping
        ``death``, ``move_out``, ``cert_end``, ``custody`` -> bool.
    deadline_months_after : int
    deadline_day : int or None
        Day of the deadline month (None = its last day).
    backpay_after_approval : bool
    """

    def __init__(self, data: dict, files: list[tuple[str, str]]):
        meta = data.get("meta") or {}
        _unknown(meta, _META_KEYS, "meta")
        subs = data.get("subsidies") or {}
        if not subs:
            raise PolicyError("政策文件缺少 subsidies（补贴项目列表）。")
        self._subsidies = {k: _parse_subsidy(k, v) for k, v in subs.items()}
        stop = data.get("stop_events") or {}
        _unknown(stop, _STOP_FILE_KEYS, "stop_events")
        pay = data.get("payment") or {}
        _unknown(pay, _PAYMENT_KEYS, "payment")
        self.files = list(files)
        self.title = str(meta.get("title", ""))
        self.region = str(meta.get("region", ""))
        self.stop_events = MappingProxyType({k: bool(stop.get(k, True)) for k in _STOP_KEYS})
        try:
            self.deadline_months_after = int(pay.get("deadline_months_after", 1))
            day = pay.get("deadline_day")
            self.deadline_day = None if day is None else int(day)
        except (TypeError, ValueError) as exc:
            raise PolicyError("政策文件键 payment.deadline_months_after / deadline_day 应为整数。") from exc
        if self.deadline_months_after < 0 or (self.deadline_day is not None
                                              and not 1 <= self.deadline_day <= 31):
            raise PolicyError("政策文件键 payment.deadline_months_after 应≥0，deadline_day 应为1-31。")
        self.backpay_after_approval = bool(pay.get("backpay_after_approval", True))
        self.subsidy_names = MappingProxyType({k: s.name for k, s in self._subsidies.items()})
        names = list(self.subsidy_names.values())
        if len(set(names)) != len(names):
            raise PolicyError("政策文件 subsidies 中有重复的补贴项目名称 name。")
        alias = {}
        for s in self._subsidies.values():
            for a in (s.name,) + s.aliases:
                if alias.get(a, s.name) != s.name:
                    raise PolicyError(f"政策文件键 subsidies.{s.key}.aliases：别名“{a}”同时属于两个补贴项目。")
                alias[a] = s.name
        self._alias = alias
        self.verified = bool(meta.get("verified", False)) and all(
            st.verified for s in self._subsidies.values() for st in s.standards)
        self._table = self._standard_table()
        self._frozen = True

    def __setattr__(self, name, value):
        if getattr(self, "_frozen", False):
            raise AttributeError("Policy is frozen")
        super().__setattr__(name, value)

    def __repr__(self) -> str:
        return f"Policy({self.title!r}, files={[Path(f).name for f, _ in self.files]})"

    # -- items -------------------------------------------------------------
    def subsidy(self, name: str) -> Subsidy:
        """The :class:`Subsidy` for a canonical name, alias or key.

        Raises
        ------
        PolicyError
            If the name is not in the policy list.
        """
        canon = self._alias.get(name, name)
        for s in self._subsidies.values():
            if s.name == canon or s.key == name:
                return s
        raise PolicyError(f"补贴项目“{name}”不在政策文件的补贴项目列表中。")

    @property
    def subsidies(self) -> tuple[Subsidy, ...]:
        return tuple(self._subsidies.values())

    def canonical_subsidy(self, values: pd.Series) -> pd.Series:
        """Fold item names to the canonical name via aliases; unknown -> NA.

        Whitespace (incl. full-width) is removed before matching.
        """
        codes, uniq = pd.factorize(values.astype("string"), use_na_sentinel=True)
        clean = pd.Series(uniq, dtype="string").str.replace(r"[\s\u3000]+", "", regex=True)
        canon = clean.map(self._alias).astype("string").to_numpy(dtype=object, na_value=pd.NA)
        out = np.where(codes >= 0, canon[np.where(codes >= 0, codes, 0)] if len(canon) else pd.NA, pd.NA)
        return pd.Series(pd.array(out, dtype="string"), index=values.index)

    # -- standards ---------------------------------------------------------
    def _standard_table(self) -> pd.DataFrame:
        rows = []
        for s in self._subsidies.values():
            pairs = s.eligible_pairs()
            for st in s.standards:
                for h in HUKOU_ALL:
                    for g in GRADES_ALL:
                        for c in CATEGORIES_ALL:
                            if st.flat_fen is not None:
                                fen = st.flat_fen
                            else:
                                hits = [t[3] for t in st.tiers if h in t[0] and g in t[1] and c in t[2]]
                                if not hits:
                                    continue
                                fen = hits[0]
                            rows.append((s.name, st.start.ordinal,
                                         st.end.ordinal if st.end is not None else np.iinfo("int64").max,
                                         h, g, c, fen, (g, c) in pairs))
        return pd.DataFrame(rows, columns=["subsidy", "start", "end", "hukou", "grade", "category",
                                           "fen", "eligible"])

    def is_tiered(self, name: str, month: pd.Period | None = None) -> bool:
        """True if the item's standard (in ``month``, or ever) depends on tier."""
        sub = self.subsidy(name)
        return any(st.tiers and (month is None or (st.start <= month and (st.end is None or month <= st.end)))
                   for st in sub.standards)

    def standard_fen(self, subsidy_name: str, month: pd.Period, grade=None, hukou=None,
                     category=None) -> int | None:
        """Monthly standard in fen for one item and month (scalar).

        Returns None when no standard is in force, or when the standard is tiered
        and the tier is not given. Raises PolicyError for an unknown item.
        """
        sub = self.subsidy(subsidy_name)
        month = pd.Period(month, freq="M")
        for st in sub.standards:
            if st.start <= month and (st.end is None or month <= st.end):
                if st.flat_fen is not None:
                    return st.flat_fen
                if grade is None or hukou is None or pd.isna(grade) or pd.isna(hukou):
                    return None
                for hset, gset, cset, fen in st.tiers:
                    if hukou in hset and int(grade) in gset and (
                            (category is None and set(cset) >= set(CATEGORIES_ALL))
                            or (category is not None and int(category) in cset)):
                        return fen
                return None
        return None

    def standards_for(self, frame: pd.DataFrame) -> pd.Series:
        """Vectorised standard (Int64 fen per person-month) for each row of ``frame``.

        Parameters
        ----------
        frame : DataFrame
            ``subsidy`` (canonical name), ``period`` (period[M]); optional
            ``grade``, ``hukou_type``, ``category``. A flat standard ignores the
            tier columns; a tiered one needs grade and hukou type (category
            defaults to any tier that does not depend on it).

        Returns
        -------
        Series of Int64 fen, aligned with ``frame``; NA where no standard
        applies (unknown item, no standard in force, tier unknown).
        """
        n = len(frame)
        out = np.full(n, -1, dtype="int64")
        if n == 0:
            return pd.Series(pd.array([], dtype="Int64"), index=frame.index)
        sub_codes, sub_uniq = pd.factorize(frame["subsidy"], use_na_sentinel=True)
        sub_uniq = list(sub_uniq)
        per = frame["period"]
        ords = per.array.asi8 if isinstance(per.dtype, pd.PeriodDtype) else \
            pd.PeriodIndex(per, freq="M").asi8
        grade = (frame["grade"].astype("Int64").fillna(-1).to_numpy("int64")
                 if "grade" in frame else np.full(n, -1))
        cat = (frame["category"].astype("Int64").fillna(-1).to_numpy("int64")
               if "category" in frame else np.full(n, -1))
        if "hukou_type" in frame:
            huk_codes, huk_uniq = pd.factorize(frame["hukou_type"], use_na_sentinel=True)
            huk_uniq = list(huk_uniq)
        else:
            huk_codes, huk_uniq = np.full(n, -1), []
        for s in self._subsidies.values():
            for st in s.standards:
                if s.name not in sub_uniq:
                    continue
                in_force = (sub_codes == sub_uniq.index(s.name)) & (ords >= st.start.ordinal)
                if st.end is not None:
                    in_force &= ords <= st.end.ordinal
                if not in_force.any():
                    continue
                if st.flat_fen is not None:
                    out[in_force] = st.flat_fen
                    continue
                for hset, gset, cset, fen in st.tiers:
                    all_cats = set(cset) >= set(CATEGORIES_ALL)
                    hc = [huk_uniq.index(h) for h in hset if h in huk_uniq]
                    m = in_force & np.isin(huk_codes, hc) & np.isin(grade, gset)
                    m &= np.isin(cat, cset) | ((cat == -1) & all_cats)
                    out[m] = fen
        res = pd.Series(out, index=frame.index).astype("Int64")
        return res.mask(res < 0)

    def grade_eligible(self, frame: pd.DataFrame) -> pd.Series:
        """Bool per row: the person's grade/category is covered by the item.

        ``frame`` has ``subsidy``, ``grade``, ``category`` (category NA counts as
        covered when the item covers every category at that grade; grade NA ->
        True, i.e. not checkable is never a finding). Unknown items -> True.
        """
        out = pd.Series(True, index=frame.index)
        grade = frame["grade"].astype("Int64")
        cat = frame["category"].astype("Int64") if "category" in frame else pd.Series(
            pd.NA, index=frame.index, dtype="Int64")
        for s in self._subsidies.values():
            rows = (frame["subsidy"] == s.name).fillna(False).to_numpy(bool)
            if not rows.any():
                continue
            pairs = s.eligible_pairs()
            g = grade[rows].fillna(-1).to_numpy("int64")
            c = cat[rows].fillna(-1).to_numpy("int64")
            out[rows] = self._pairs_vector(pairs, g, c)
        return out

    def eligible(self, frame: pd.DataFrame) -> pd.Series:
        """Alias of :meth:`grade_eligible` (grade/category conditions; coverage is
        checked month by month in the reconciliation)."""
        return self.grade_eligible(frame)

    @staticmethod
    def _pairs_vector(pairs, g, c) -> np.ndarray:
        key = g * 10 + c
        ok_keys = np.array([gg * 10 + cc for gg, cc in pairs])
        full = np.array([gg for gg in GRADES_ALL if all((gg, cc) in pairs for cc in CATEGORIES_ALL)])
        return np.isin(key, ok_keys) | (g == -1) | ((c == -1) & np.isin(g, full))

    def months_listed(self, frame: pd.DataFrame) -> pd.Series:
        """Bool per row: a standard of ``subsidy`` is in force in ``period``."""
        out = np.zeros(len(frame), dtype=bool)
        sub = frame["subsidy"].astype("string").to_numpy(dtype=object, na_value=None)
        ords = frame["period"].array.asi8
        for s in self._subsidies.values():
            for st in s.standards:
                m = (sub == s.name) & (ords >= st.start.ordinal)
                if st.end is not None:
                    m &= ords <= st.end.ordinal
                out |= m
        return pd.Series(out, index=frame.index)

    # -- payment -----------------------------------------------------------
    def deadline(self, periods: pd.Series) -> pd.Series:
        """Payment deadline (datetime64, end of day not included) per period.

        The last day (or ``deadline_day``) of the month ``deadline_months_after``
        months after the period. A payment on the deadline date is on time.
        """
        per = pd.PeriodIndex(periods, freq="M") + self.deadline_months_after
        if self.deadline_day is None:
            dates = per.to_timestamp(how="end").normalize()
        else:
            start = per.to_timestamp(how="start")
            last = per.to_timestamp(how="end").normalize()
            dates = (start + pd.to_timedelta(self.deadline_day - 1, unit="D")).where(
                start + pd.to_timedelta(self.deadline_day - 1, unit="D") <= last, last)
        return pd.Series(dates.astype("datetime64[s]"), index=periods.index
                         if isinstance(periods, pd.Series) else None)


def load_policy(path: str | Path | None = None) -> Policy:
    """Load, merge (``extends:``) and validate a policy file.

    Parameters
    ----------
    path : str or Path, optional
        The top policy file (``--policy``); default ``parameters/policy/hubei.yaml``.

    Returns
    -------
    Policy
        Frozen; amounts converted to integer fen.

    Raises
    ------
    PolicyError
        Unknown keys, overlapping date ranges, a tier table that leaves an
        eligible grade, category or registration type without exactly one
        standard, a standard without source, a missing file. The message is
        Chinese and names the key.

    Examples
    --------
    >>> p = load_policy()
    >>> p.standard_fen("困难残疾人生活补贴", pd.Period("2021-01", "M"))
    7000
    """
    data, files = _read_chain(Path(path) if path else DEFAULT_POLICY)
    return Policy(data, files)

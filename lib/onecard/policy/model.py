"""The validated, frozen :class:`Policy`: standards, eligibility, deadlines."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..core.errors import PolicyError
from .document import (_META_KEYS, _PAYMENT_KEYS, _STOP_FILE_KEYS, _STOP_KEYS, CATEGORIES_ALL,
                     GRADES_ALL, HUKOU_ALL, Subsidy, _parse_subsidy, _unknown)

__all__ = ["Policy"]


def _source_document(section) -> str:
    """``section['source']['document']`` as text (blank when absent)."""
    src = section.get("source") if isinstance(section, dict) else None
    return str(src.get("document") or "") if isinstance(src, dict) else ""


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
    payment_document, stop_document : str
        ``source.document`` of ``payment`` and ``stop_events`` (blank if none).
    eligibility_document : mapping
        Canonical item name -> ``eligibility.source.document``.
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
        self.payment_document = _source_document(pay)
        self.stop_document = _source_document(stop)
        self.eligibility_document = MappingProxyType({
            s.name: _source_document((subs[k] or {}).get("eligibility") or {})
            for k, s in self._subsidies.items()})
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

    def verification(self) -> pd.DataFrame:
        """Every standard with its source and verification record.

        Returns
        -------
        DataFrame
            ``subsidy, from, to (YYYY-MM, blank = open), yuan (flat amount or
            "分档"), document, url, verified (bool), verified_by, verified_on``,
            in subsidy and month order. Reports list the unverified rows next to
            the warning; ``docs/policy.md`` says how a row becomes verified.
        """
        rows = [{"subsidy": s.name, "from": str(st.start), "to": str(st.end) if st.end is not None else "",
                 "yuan": f"{st.flat_fen / 100:.2f}" if st.flat_fen is not None else "分档",
                 "document": st.document, "url": st.url, "verified": st.verified,
                 "verified_by": st.verified_by, "verified_on": st.verified_on}
                for s in self._subsidies.values() for st in s.standards]
        return pd.DataFrame(rows, columns=["subsidy", "from", "to", "yuan", "document", "url", "verified",
                                           "verified_by", "verified_on"])

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

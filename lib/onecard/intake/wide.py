"""Wide 花名册 payouts: one column group per subsidy, unpivoted to one row per person × subsidy.

A monthly payout roster (发放花名册) often looks like::

    XX区2022年5月残疾人两项补贴发放花名册                        (title row)
    填报单位：XX街道                         单位：元          (unit row)
    序号 | 姓名 | 身份证号 | 困难残疾人生活补贴 | 重度残疾人护理补贴
                           标准   | 金额      | 标准   | 金额

After :func:`layout.find_layout` the headers are flattened to
``困难残疾人生活补贴_标准``, ``困难残疾人生活补贴_金额`` ... This module finds those
groups (:func:`detect_wide`), takes the period from the title when the sheet has
no period column, and unpivots accepted source rows (:func:`unpivot`): a blank or
zero amount means *no payment row*, not a zero payment. The subsidy text is kept
exactly as the office wrote it (aliases are folded later by the policy).

Source: REAL_WORLD_CASES.md B09 (follow-up); DATA_CONTRACT.md (payouts, row
conservation).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .headers import _UNIT_RE, normalise_header
from .values import is_blank, normalise_text, parse_month

__all__ = ["WideGroup", "WideSpec", "detect_wide", "period_from_title", "unpivot", "GROSS_WORDS",
           "NET_WORDS", "STANDARD_WORDS"]

#: Sub-header words (normalised) naming a group's gross amount, net amount and standard.
GROSS_WORDS = ("金额", "发放金额", "应发金额", "补贴金额", "发放数", "发放额")
NET_WORDS = ("实发", "实发金额", "实发数", "到账金额")
STANDARD_WORDS = ("标准", "补贴标准", "发放标准", "月标准", "享受标准", "月补贴标准")
#: Group names that are row totals across subsidies, never a subsidy.
_TOTAL_GROUP = re.compile(r"^(合计|小计|总计|总额|合计金额|总金额|两项补贴合计|补贴合计)$")
_TITLE_PERIOD = re.compile(
    r"\d{4}\s*年\s*(?:第[一二三四1-4]季度|[上下]半年|\d{1,2}\s*(?:月份?)?\s*(?:-|—|－|~|～|至|到)\s*\d{1,2}\s*月份?"
    r"|\d{1,2}\s*月份?)"
    r"|\d{4}[.\-/]\d{1,2}(?:\s*(?:-|—|至)\s*\d{4}[.\-/]\d{1,2})?")
_SHEET_UNIT = re.compile(r"(?:金额)?单位\s*[:：]\s*(万元|元)")


@dataclass(frozen=True)
class WideGroup:
    """One subsidy column group.

    Attributes
    ----------
    subsidy : str
        The group header as written (whitespace removed, NFKC), e.g. ``护理补贴``.
    amount : int
        Grid position of the amount column (gross, or net when the group has no gross).
    net : int or None
        Grid position of a separate 实发 column (-> ``net_amount``).
    standard : int or None
        Grid position of the 标准 column (-> ``standard``, fen).
    scale : int
        10000 when the group header itself says ``(万元)``.
    """

    subsidy: str
    amount: int
    net: int | None = None
    standard: int | None = None
    scale: int = 1

    @property
    def positions(self) -> list[int]:
        return [p for p in (self.amount, self.net, self.standard) if p is not None]


@dataclass
class WideSpec:
    """How to unpivot one wide sheet.

    Attributes
    ----------
    groups : list of WideGroup
    period : pd.Period, list of pd.Period or None
        Period from the title rows (used only when the sheet has no period or
        paid-month column); a list for a multi-month title (split later).
    period_text : str or None
        The title fragment the period came from (for intake.json).
    scale : int
        10000 when the sheet says ``单位：万元`` above the header band, else 1.
    total_columns : list of int
        Per-row total columns (合计) that are not subsidies.
    """

    groups: list[WideGroup]
    period: object = None
    period_text: str | None = None
    scale: int = 1
    total_columns: list[int] = field(default_factory=list)

    @property
    def positions(self) -> set[int]:
        return {p for g in self.groups for p in g.positions} | set(self.total_columns)


def _split(header: str) -> tuple[str, str] | None:
    if "_" not in header:
        return None
    upper, lower = header.rsplit("_", 1)
    return (upper, lower) if upper and lower else None


def detect_wide(names: list[str], headers: list[str]) -> WideSpec | None:
    """Find subsidy column groups in flattened two-level headers.

    Parameters
    ----------
    names : list of str
        Normalised headers (``headers.normalise_header``; unit stripped).
    headers : list of str
        Flattened headers as written (``Layout.headers``); the group text is
        taken from here.

    Returns
    -------
    WideSpec or None
        ``None`` unless at least one group has an amount column. ``period`` is
        not filled here (see :func:`period_from_title`).
    """
    found: dict[str, dict[str, int]] = {}
    order: list[str] = []
    totals: list[int] = []
    for pos, (name, raw) in enumerate(zip(names, headers)):
        parts, raw_parts = _split(name), _split(raw or "")
        if not parts or not raw_parts:
            continue
        upper, lower = parts
        role = ("gross" if lower in GROSS_WORDS else "net" if lower in NET_WORDS
                else "standard" if lower in STANDARD_WORDS else None)
        if role is None:
            continue
        if _TOTAL_GROUP.match(upper):
            totals.append(pos)
            continue
        key = upper
        if key not in found:
            found[key] = {"text": raw_parts[0]}  # type: ignore[dict-item]
            order.append(key)
        found[key].setdefault(role, pos)
    groups = []
    for key in order:
        g = found[key]
        amount = g.get("gross", g.get("net"))
        if amount is None:
            continue
        text, unit = normalise_header(g["text"])
        if unit:  # "护理补贴(元)": keep the office's text without the unit
            text = str(normalise_text(g["text"])[0])
            text = _UNIT_RE.sub("", re.sub(r"\s+", "", text))
        else:
            text = str(normalise_text(g["text"])[0] or key)
        groups.append(WideGroup(text, int(amount), g.get("net") if "gross" in g else None, g.get("standard"),
                                10000 if unit == "万元" else 1))
    if not groups:
        return None
    return WideSpec(groups, total_columns=totals)


def period_from_title(above: pd.DataFrame | None, *extra: str) -> tuple[object, str | None, int]:
    """Period and money unit stated above the header band.

    Parameters
    ----------
    above : pd.DataFrame or None
        The rows above the header band (``Layout.above``).
    *extra : str
        Further texts searched after the title rows (e.g. the sheet name).

    Returns
    -------
    (period, text, scale)
        ``period``: a ``pd.Period('M')``, a list of them (``2022年第一季度``) or
        ``None``; ``text``: the fragment it came from; ``scale``: 10000 for
        ``单位：万元``, else 1. The first text holding exactly one period
        expression wins; a text naming two different ones is ambiguous and skipped.

    Examples
    --------
    >>> import pandas as pd
    >>> period_from_title(pd.DataFrame([["XX区2022年5月残疾人两项补贴发放花名册"], ["单位：元"]]))
    (Period('2022-05', 'M'), '2022年5月', 1)
    """
    texts: list[str] = []
    if above is not None and len(above):
        for row in above.to_numpy(dtype=object):
            texts.append(" ".join(str(v) for v in row if not is_blank(v)))
    scale = 1
    for t in texts:
        m = _SHEET_UNIT.search(t)
        if m and m.group(1) == "万元":
            scale = 10000
    for t in [*texts, *extra]:
        frags = {re.sub(r"\s+", "", f) for f in _TITLE_PERIOD.findall(t or "")}
        if len(frags) != 1:
            continue
        frag = frags.pop()
        value, _, reason = parse_month(frag)
        if reason is None and value is not None:
            return value, frag, scale
    return None, None, scale


def unpivot(frame: pd.DataFrame, amounts: list[np.ndarray], nets: list, standards: list,
            spec: WideSpec, flags: list[np.ndarray] | None = None) -> tuple[pd.DataFrame, dict]:
    """One payout row per accepted source row × subsidy group with a non-zero amount.

    Parameters
    ----------
    frame : pd.DataFrame
        Accepted source rows (canonical columns except ``subsidy``/``amount``).
    amounts, nets, standards : list of arrays of int fen or None, one per group
        Aligned with ``frame``; ``nets``/``standards`` entries may be ``None``.
    spec : WideSpec
    flags : list of arrays of str, optional
        Per group, ``;``-separated amount flags (e.g. ``amount_rounded``)
        appended to ``_flags`` of that group's rows.

    Returns
    -------
    (long, stats)
        ``long``: rows of ``frame`` repeated per paid group, in source order
        then group order, with ``subsidy``, ``amount``, ``net_amount`` and
        ``standard`` (fen) set. ``stats``: ``cells`` (rows × groups),
        ``cells_paid``, ``cells_blank``, ``cells_zero`` (``cells`` = the sum of
        the other three).
    """
    n = len(frame)
    parts = []
    blank = zero = 0
    src = np.arange(n)
    for gi, (g, amt) in enumerate(zip(spec.groups, amounts)):
        amt = pd.array(amt, dtype="Int64")
        missing = np.asarray(amt.isna(), dtype=bool)
        is_zero = np.asarray((amt == 0).fillna(False), dtype=bool)
        paid = ~missing & ~is_zero
        blank += int(missing.sum())
        zero += int(is_zero.sum())
        part = frame.loc[paid].copy()
        part["subsidy"] = g.subsidy
        part["amount"] = amt[paid]
        if nets[gi] is not None:
            part["net_amount"] = pd.array(nets[gi], dtype="Int64")[paid]
        part["standard"] = (pd.array(standards[gi], dtype="Int64")[paid] if standards[gi] is not None
                            else pd.array([None] * int(paid.sum()), dtype="Int64"))
        if flags is not None and "_flags" in part:
            extra = np.asarray(flags[gi], dtype=object)[paid]
            has = extra != ""
            if has.any():
                own = part["_flags"].fillna("").to_numpy(dtype=object)
                part["_flags"] = np.where(has & (own != ""), own + ";" + extra, np.where(has, extra, own))
        part["_src"] = src[paid]
        part["_grp"] = gi
        parts.append(part)
    long = pd.concat(parts, ignore_index=True) if parts else frame.iloc[:0].copy()
    long = long.sort_values(["_src", "_grp"], kind="stable").drop(columns=["_src", "_grp"]).reset_index(drop=True)
    cells = n * len(spec.groups)
    stats = {"cells": cells, "cells_paid": int(len(long)), "cells_blank": blank, "cells_zero": zero}
    return long, stats

"""Reading and validating policy files: keys, months, amounts, sources, tiers.

Every problem raises :class:`onecard.core.errors.PolicyError` with a Chinese message
that names the key (``subsidies.living.standards[1].tiers`` ...). See
``docs/policy.md`` for the format.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
import yaml

from ..core.errors import PolicyError
from ..core.resources import packaged, parameters_dir

#: The packaged default policy (the office folder's ``policy/hubei.yaml`` wins when present).
DEFAULT_POLICY = packaged("parameters") / "policy" / "hubei.yaml"
HUKOU_ALL = ("urban", "rural")
GRADES_ALL = (1, 2, 3, 4)
CATEGORIES_ALL = (1, 2, 3, 4, 5, 6, 7)

_TOP_KEYS = {"extends", "meta", "subsidies", "stop_events", "payment"}
_META_KEYS = {"title", "region", "verified", "note", "source"}
_SUBSIDY_KEYS = {"name", "aliases", "eligibility", "standards", "exclusive_with"}
_ELIG_KEYS = {"grades", "categories", "requires_coverage", "extended", "hukou", "source"}
_STANDARD_KEYS = {"from", "to", "yuan", "tiers", "source"}
_TIER_KEYS = {"hukou", "grades", "categories", "yuan"}
_SOURCE_KEYS = {"document", "url", "verified", "verified_by", "verified_on", "note"}
_STOP_KEYS = {"death", "move_out", "cert_end", "custody"}
_STOP_FILE_KEYS = _STOP_KEYS | {"source"}
_PAYMENT_KEYS = {"deadline_months_after", "deadline_day", "backpay_after_approval", "source"}


def _unknown(keys, allowed, where: str) -> None:
    extra = sorted(set(keys) - set(allowed))
    if extra:
        raise PolicyError(f"政策文件键 {where} 含未知项：{', '.join(map(str, extra))}；"
                          f"允许的项为：{', '.join(sorted(allowed))}。")


def _verification(src: dict, where: str) -> tuple[bool, str, str]:
    """``(verified, verified_by, verified_on)`` of a ``source`` mapping.

    ``verified: true`` records that a named person checked the figure against the
    official document's text on a date (docs/policy.md, "Verifying a policy
    file"); it is refused without ``verified_by`` and ``verified_on``
    (``YYYY-MM-DD``, not in the future).

    Raises
    ------
    PolicyError
        ``verified`` not a boolean, or ``verified: true`` without checker or date.
    """
    verified = src.get("verified", False)
    if not isinstance(verified, bool):
        raise PolicyError(f"政策文件键 {where}.verified 应为 true 或 false，实际为 {verified!r}。")
    by = str(src.get("verified_by") or "").strip()
    on = src.get("verified_on")
    if not verified:
        return False, by, str(on or "")
    if not by or on in (None, ""):
        raise PolicyError(f"政策文件键 {where}：verified: true 须同时填写核对人 verified_by 和核对日期 "
                          f"verified_on（YYYY-MM-DD），见 docs/policy.md“核对政策文件”。")
    try:
        day = pd.Timestamp(str(on))
    except (ValueError, TypeError):
        day = pd.NaT
    if pd.isna(day) or day.normalize() > pd.Timestamp.today().normalize():
        raise PolicyError(f"政策文件键 {where}.verified_on 应为不晚于今天的日期 YYYY-MM-DD，实际为 {on!r}。")
    return True, by, day.strftime("%Y-%m-%d")


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
        base, base_files = _read_chain(_resolve_extends(path, str(parent)), seen + (path,))
        return _merge(base, data), base_files + files
    return data, files


def _resolve_extends(path: Path, parent: str) -> Path:
    """The file a policy's ``extends: parent`` names.

    Looked for next to ``path`` first, then in the office parameters folder's
    ``policy/`` (``--parameters`` / ``ONECARD_PARAMETERS``), then among the packaged
    policies. A candidate that is ``path`` itself is skipped, so an office
    ``policy/hubei.yaml`` may say ``extends: hubei.yaml`` to build on the packaged one.

    Raises
    ------
    PolicyError
        When no candidate exists; the message lists every place looked in.
    """
    target = Path(parent).expanduser()
    if target.is_absolute():
        candidates = [target]
    else:
        office = parameters_dir()
        candidates = [path.parent / target]
        if office is not None:
            candidates.append(office / "policy" / target)
        candidates.append(packaged("parameters") / "policy" / target)
    for candidate in candidates:
        candidate = candidate.resolve()
        if candidate != path and candidate.is_file():
            return candidate
    looked = "；".join(str(c) for c in candidates)
    raise PolicyError(f"政策文件 {path.name} 的 extends: {parent} 找不到对应文件；已查找：{looked}。")


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
    verified_by: str = ""
    verified_on: str = ""  # YYYY-MM-DD


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
        verified, verified_by, verified_on = _verification(src, f"{sw}.source")
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
                       tuple(tiers), verified, str(src.get("document", "")),
                       str(src.get("url", "")), verified_by, verified_on)
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
        _verification(value.get("source") or {}, f"{where}.source")
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

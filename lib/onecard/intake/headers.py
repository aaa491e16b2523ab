"""Header normalisation, header -> canonical column mapping, table recognition.

Source: DATA_CONTRACT.md "Header matching"; REAL_WORLD_CASES.md B07, B09.
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from ..core import tables
from ..core.errors import MissingColumnError, ParameterError, TableNotRecognisedError
from ..core.resources import parameter_path
from .sniff import text_name

__all__ = [
    "normalise_header", "Lexicon", "load_lexicon", "SourceRule", "load_sources",
    "recognise_table", "map_headers", "UNITS",
]

#: Units stripped from the end of a header; anything else in brackets is kept.
UNITS = ("元", "万元", "人", "个", "月", "%", "年月")
_UNIT_RE = re.compile(r"[(\[【]\s*(万元|元|人|个|月|%|年月|日期格式[^)\]】]*)\s*[)\]】]$")
_REQUIRED_MARK = re.compile(r"[*※★☆]|[(\[【](必填|必录|必输)[)\]】]")
_STRIP = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u3000\u00a0\"'“”‘’]+")


def normalise_header(raw) -> tuple[str, str | None]:
    """Normalise one header cell.

    Returns
    -------
    (text, unit)
        Full-width -> half-width (NFKC), whitespace/line breaks/quotes/BOM and
        required markers removed, ASCII lower-cased; a trailing unit from
        :data:`UNITS` removed and returned (``None`` if none).

    Examples
    --------
    >>> normalise_header(" 发放金额（万元） ")
    ('发放金额', '万元')
    >>> normalise_header("身份证号(监护人)")
    ('身份证号(监护人)', None)
    """
    if raw is None:
        return "", None
    text = unicodedata.normalize("NFKC", str(raw))
    text = _STRIP.sub("", text)
    text = _REQUIRED_MARK.sub("", text)
    unit = None
    m = _UNIT_RE.search(text)
    if m and m.start() > 0:
        unit = m.group(1)
        text = text[: m.start()]
    return text.lower(), unit


@dataclass(frozen=True)
class Lexicon:
    """Known spellings: ``by_table[table][normalised spelling] = canonical``."""

    by_table: dict[str, dict[str, str]]

    def all_spellings(self) -> set[str]:
        return {s for m in self.by_table.values() for s in m}


def _read_yaml(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"表头配置文件 {text_name(path)} 无法读取：{exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"表头配置文件 {text_name(path)} 应为 {{表名: {{标准列名: [写法, ...]}}}} 结构。")
    return data


@lru_cache(maxsize=8)
def load_lexicon(headers_file: str | None = None) -> Lexicon:
    """Load ``parameters/headers.yaml`` (plus ``headers_file`` if given).

    Raises
    ------
    ParameterError
        Unknown table or column names in the file (listed, with valid names).
    """
    files = [parameter_path("headers.yaml")] + ([Path(headers_file)] if headers_file else [])
    by_table: dict[str, dict[str, str]] = {t: {} for t in tables.TABLES}
    for path in files:
        for table, cols in _read_yaml(path).items():
            if table not in tables.TABLES:
                raise ParameterError(f"{text_name(path)}：未知的表 {table!r}；可用：{', '.join(tables.TABLES)}。")
            for canonical, spellings in (cols or {}).items():
                if canonical not in tables.TABLES[table]:
                    raise ParameterError(f"{text_name(path)}：表 {table} 没有列 {canonical!r}；"
                                         f"可用：{', '.join(tables.TABLES[table])}。")
                for s in [canonical, *(spellings or [])]:
                    by_table[table][normalise_header(s)[0]] = canonical
    for table, cols in tables.TABLES.items():
        for c in cols:
            by_table[table].setdefault(c.lower(), c)
    return Lexicon(by_table)


@dataclass
class SourceRule:
    """One ``sources.yaml`` entry: files matching ``glob`` hold ``table``.

    ``read_hidden``: read the hidden sheets of these files too (flagged ``hidden_sheet``).
    """

    glob: str
    table: str | None = None
    columns: dict[str, str] = field(default_factory=dict)
    read_hidden: bool = False


#: Keys a ``sources.yaml`` entry may have.
SOURCE_KEYS = ("table", "columns", "read_hidden")


def _source_problems(glob, spec) -> tuple[list[str], SourceRule | None]:
    """Problems of one ``sources.yaml`` entry (Chinese, naming the key) and the rule if valid."""
    where = f"条目 {glob!r}"
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        return [f"{where} 应为映射（table: 表名、columns: {{表头: 标准列名}}），实际是 {type(spec).__name__} {spec!r}"], None
    problems = [f"{where} 有未知的键 {k!r}（可用：{'、'.join(SOURCE_KEYS)}）" for k in spec if k not in SOURCE_KEYS]
    table = spec.get("table")
    if table is not None and (not isinstance(table, str) or table not in tables.TABLES):
        problems.append(f"{where} 的 table {table!r} 无效（可用：{'、'.join(tables.TABLES)}）")
        table = None
    columns = spec.get("columns")
    if columns is None:
        columns = {}
    cols: dict[str, str] = {}
    if not isinstance(columns, dict):
        problems.append(f"{where} 的 columns 应为映射（表头: 标准列名），实际是 {type(columns).__name__}")
        columns = {}
    valid = set(tables.TABLES[table]) if table else {c for t in tables.TABLES.values() for c in t}
    for header, canonical in columns.items():
        if not isinstance(canonical, str) or canonical not in valid:
            scope = f"表 {table} 的" if table else "任何表的"
            problems.append(f"{where} 的 columns.{header} 对应的 {canonical!r} 不是{scope}标准列名"
                            + (f"（可用：{'、'.join(tables.TABLES[table])}）" if table else ""))
            continue
        cols[normalise_header(header)[0]] = canonical
    read_hidden = spec.get("read_hidden", False)
    if not isinstance(read_hidden, bool):
        problems.append(f"{where} 的 read_hidden 应为 true 或 false，实际是 {read_hidden!r}")
    if problems:
        return problems, None
    return [], SourceRule(str(glob), table, cols, read_hidden)


def load_sources(folder: Path) -> list[SourceRule]:
    """Read the optional ``sources.yaml`` of a data folder (``[]`` if absent).

    Raises
    ------
    ParameterError
        Unreadable YAML, a top level that is not a mapping, or entries with a string
        instead of a mapping, ``columns`` that is not a mapping, an unknown table,
        canonical column or key: every problem of the file in one Chinese message
        naming the file and the key.
    """
    path = folder / "sources.yaml"
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParameterError(f"数据目录中的 {text_name(path)} 无法读取（YAML 格式错误或编码不是 UTF-8）：{exc}") from exc
    if data is None:
        return []
    if not isinstance(data, dict):
        raise ParameterError(f"{text_name(path)} 应为“文件名或通配符: {{table: 表名, columns: {{表头: 标准列名}}}}”的映射，"
                             f"实际是 {type(data).__name__}。")
    rules, problems = [], []
    for glob, spec in data.items():
        found, rule = _source_problems(glob, spec)
        problems += found
        if rule is not None:
            rules.append(rule)
    if problems:
        raise ParameterError(f"{text_name(path)} 有 {len(problems)} 处错误：\n" + "\n".join(f"  - {x}" for x in problems))
    return rules


def rule_for(rel_name: str, rules: list[SourceRule]) -> SourceRule | None:
    """First rule whose glob matches the file's relative path or base name."""
    for r in rules:
        if fnmatch.fnmatch(rel_name, r.glob) or fnmatch.fnmatch(Path(rel_name).name, r.glob):
            return r
    return None


def map_headers(headers: list[str], table: str, lexicon: Lexicon,
                extra: dict[str, str] | None = None) -> dict[int, str]:
    """Column position -> canonical column for ``table``; first match wins per canonical."""
    known = lexicon.by_table[table]
    out: dict[int, str] = {}
    used: set[str] = set()
    for i, h in enumerate(headers):
        c = (extra or {}).get(h) or known.get(h)
        if c and c not in used:
            out[i] = c
            used.add(c)
    return out


def _cover(table: str, mapped: set[str]) -> tuple[int, int]:
    groups = tables.REQUIRED[table]
    return sum(any(c in mapped for c in g) for g in groups), len(groups)


def _missing_groups(table: str, mapped: set[str]) -> list[str]:
    return ["或".join(g) for g in tables.REQUIRED[table] if not any(c in mapped for c in g)]


def recognise_table(file: str, headers: list[str], lexicon: Lexicon,
                    forced: str | None = None, extra: dict[str, str] | None = None) -> str:
    """Which table a file holds, from its normalised headers.

    The table with the most mapped columns wins; ties go to the better cover
    of required columns. Then every required group must be covered.

    Raises
    ------
    TableNotRecognisedError
        Fewer than two headers known, or a tie (message lists headers found and
        the closest tables).
    MissingColumnError
        The table is clear but a required column is missing.
    """
    shown = "、".join(h for h in headers if h) or "（无）"
    scores = []
    for table in tables.TABLES:
        mapped = set(map_headers(headers, table, lexicon, extra).values())
        cov, total = _cover(table, mapped)
        scores.append((len(mapped), cov / total, table, mapped))
    scores.sort(key=lambda s: (s[0], s[1]), reverse=True)
    if forced:
        table = forced
        mapped = next(s[3] for s in scores if s[2] == table)
    else:
        best = scores[0]
        tied = [s for s in scores if s[:2] == best[:2]]
        if len(tied) > 1 and best[1] == 1.0 and "payouts" in [s[2] for s in tied]:
            best = next(s for s in tied if s[2] == "payouts")  # disclosures' columns are a subset of payouts'
            tied = [best]
        closest = "；".join(f"{tables.TABLE_LABELS[s[2]]}({s[2]}) 识别 {s[0]} 列" for s in scores[:3])
        if best[0] < 2 or len(tied) > 1:
            raise TableNotRecognisedError(
                f"文件 {file} 无法判断是哪一类表。找到的表头：{shown}。最接近的表：{closest}。"
                f"请在数据文件夹的 sources.yaml 中写明 table，或在 parameters/headers.yaml 中补充表头写法。")
        table, mapped = best[2], best[3]
    missing = _missing_groups(table, mapped)
    if missing:
        expected = "、".join("或".join(g) for g in tables.REQUIRED[table])
        raise MissingColumnError(
            f"文件 {file}（{tables.TABLE_LABELS[table]} {table}）缺少必需列：{'；'.join(missing)}。"
            f"找到的表头：{shown}。该表必需的列：{expected}。"
            f"可识别的写法见 parameters/headers.yaml。")
    return table

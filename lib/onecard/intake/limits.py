"""Resource limits of intake: what one file, one line and one cell may cost.

Read from the ``limits:`` mapping of ``parameters/intake.yaml`` (an office copy
overrides the packaged one, :func:`onecard.core.resources.parameter_path`). A file
over a limit is refused *before* the expensive step (file size and a ``.xlsx``'s
uncompressed sizes before any parser opens it, the longest CSV line before pandas
reads it) and listed as unreadable with its reason; the run goes on.

Source: issue 10 (Resources): a 50 MB one-line CSV took 4 min and 7.9 GB; a small
xlsx expanding to 1 GB of shared strings; a 100,000-character name.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from ..core.errors import InputFileError, ParameterError
from ..core.resources import parameter_path
from .sniff import text_name

__all__ = ["IntakeLimits", "LimitExceededError", "load_limits", "check_file_size", "check_zip",
           "check_text_lines", "check_sheet_shape", "cap_list", "cap_text"]

_MB = 1024 * 1024
_CHUNK = 16 * _MB


class LimitExceededError(InputFileError):
    """Raised when an input file (or sheet) is over a limit of ``parameters/intake.yaml``.

    The message is Chinese, names the limit, the value found and the key to change.
    """


@dataclass(frozen=True)
class IntakeLimits:
    """Limits in force (defaults as in the packaged ``intake.yaml``).

    Attributes
    ----------
    max_file_mb : float
        Largest input file, MB.
    max_line_bytes : int
        Longest line of a CSV/TXT file, bytes (before decoding).
    max_cell_chars : int
        Longest text cell, characters; longer text is cut to this length and the row
        flagged ``cell_truncated`` (kept, not quarantined: the other cells of a payout
        row are still evidence, and a name that long is visible as truncated).
    max_rows_per_sheet, max_columns : int
        Largest sheet (rows incl. header, columns).
    max_uncompressed_mb : float
        Largest total uncompressed size of a ``.xlsx`` (zip), MB.
    max_compression_ratio : float
        Largest uncompressed/compressed ratio of one zip member above 1 MB.
    max_list_items, max_detail_chars : int
        Caps on per-file lists and strings written to ``intake.json``.
    """

    max_file_mb: float = 500
    max_line_bytes: int = 1_048_576
    max_cell_chars: int = 1000
    max_rows_per_sheet: int = 1_048_576
    max_columns: int = 1000
    max_uncompressed_mb: float = 1024
    max_compression_ratio: float = 200
    max_list_items: int = 50
    max_detail_chars: int = 300


_INTEGER_KEYS = {"max_line_bytes", "max_cell_chars", "max_rows_per_sheet", "max_columns", "max_list_items",
                 "max_detail_chars"}


def _validate(data, path: Path) -> IntakeLimits:
    """Check the ``limits:`` mapping; every problem collected into one Chinese message."""
    if data is None:
        return IntakeLimits()
    if not isinstance(data, dict):
        raise ParameterError(f"{text_name(path)}：limits 应为“名称: 数值”的映射，实际是 {type(data).__name__}。")
    known = {f.name for f in fields(IntakeLimits)}
    problems, values = [], {}
    for key, value in data.items():
        if key not in known:
            problems.append(f"未知的键 limits.{key}（可用：{'、'.join(sorted(known))}）")
            continue
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        if ok and key in _INTEGER_KEYS and value != int(value):
            ok = False
        if not ok:
            kind = "正整数" if key in _INTEGER_KEYS else "正数"
            problems.append(f"limits.{key} 应为{kind}，实际是 {value!r}")
            continue
        values[key] = int(value) if key in _INTEGER_KEYS else float(value)
    if problems:
        raise ParameterError(f"参数文件 {text_name(path)} 有误：" + "；".join(problems) + "。")
    return IntakeLimits(**values)


@lru_cache(maxsize=8)
def _load(path: str) -> IntakeLimits:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ParameterError(f"参数文件 {p} 无法读取：{exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"参数文件 {p} 应为映射（limits: ...）。")
    unknown = set(data) - {"limits"}
    if unknown:
        raise ParameterError(f"参数文件 {p} 有未知的键：{'、'.join(sorted(map(str, unknown)))}（可用：limits）。")
    return _validate(data.get("limits"), p)


def load_limits(path: str | Path | None = None) -> IntakeLimits:
    """Limits from ``path`` or ``parameters/intake.yaml`` (defaults when the file is absent).

    Raises
    ------
    ParameterError
        Unreadable file, unknown key, or a value that is not a positive number
        (all problems of the file in one Chinese message naming file and key).
    """
    p = Path(path) if path else parameter_path("intake.yaml")
    if not p.is_file():
        return IntakeLimits()
    return _load(str(p.resolve()))


def check_file_size(path: Path, name: str, limits: IntakeLimits) -> None:
    """Refuse a file larger than ``max_file_mb`` (before anything reads it)."""
    size = path.stat().st_size
    if size > limits.max_file_mb * _MB:
        raise LimitExceededError(f"文件 {name} 大小 {_size_text(size)}，超过上限 {limits.max_file_mb:g} MB"
                                 "（parameters/intake.yaml 的 limits.max_file_mb），未读取。")


def _size_text(size: int) -> str:
    return f"{size / _MB:.1f} MB" if size >= _MB else f"{size / 1024:.1f} KB"


def check_zip(path: Path, name: str, limits: IntakeLimits) -> None:
    """Refuse a ``.xlsx`` whose members would expand beyond the limits, before opening it.

    Reads only the zip's central directory (declared sizes). A member whose
    uncompressed size exceeds 1 MB and ``max_compression_ratio`` times its compressed
    size, or a total beyond ``max_uncompressed_mb``, refuses the file (a decompression bomb:
    a few KB of ``sharedStrings.xml`` expanding to 1 GB).
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except zipfile.BadZipFile:
        return  # sniffing already calls this damaged
    total = sum(i.file_size for i in infos)
    if total > limits.max_uncompressed_mb * _MB:
        raise LimitExceededError(
            f"文件 {name} 解压后共 {total / _MB:.0f} MB，超过上限 {limits.max_uncompressed_mb:g} MB"
            "（limits.max_uncompressed_mb），可能是压缩炸弹，未读取。")
    for i in infos:
        if i.file_size > _MB and i.file_size > limits.max_compression_ratio * max(i.compress_size, 1):
            raise LimitExceededError(
                f"文件 {name} 中的 {i.filename} 压缩比 {i.file_size / max(i.compress_size, 1):.0f} 倍，超过上限 "
                f"{limits.max_compression_ratio:g} 倍（limits.max_compression_ratio），可能是压缩炸弹，未读取。")


def check_text_lines(data: bytes, name: str, limits: IntakeLimits) -> None:
    """Refuse a text file with a line longer than ``max_line_bytes`` or more lines than
    ``max_rows_per_sheet``. Vectorised over the bytes (numpy), before decoding or parsing."""
    if not data:
        return
    arr = np.frombuffer(data, dtype=np.uint8)
    longest, n_lines, last_end = 0, 1, -1
    for start in range(0, len(arr), _CHUNK):  # chunks bound the temporary arrays (16 MB each)
        ends = np.flatnonzero(arr[start: start + _CHUNK] == 10) + start
        if len(ends):
            longest = max(longest, int(np.diff(np.concatenate(([last_end], ends))).max()) - 1)
            last_end = int(ends[-1])
            n_lines += len(ends)
    longest = max(longest, len(arr) - last_end - 1)
    if last_end == len(arr) - 1:
        n_lines -= 1  # a final line break ends the last line, it opens no new one
    if longest > limits.max_line_bytes:
        raise LimitExceededError(
            f"文件 {name} 有一行长 {longest} 字节，超过上限 {limits.max_line_bytes} 字节"
            "（limits.max_line_bytes），可能不是按行导出的表格，未读取。")
    if n_lines > limits.max_rows_per_sheet:
        raise LimitExceededError(f"文件 {name} 有 {n_lines} 行，超过上限 {limits.max_rows_per_sheet} 行"
                                 "（limits.max_rows_per_sheet），未读取。")


def check_sheet_shape(n_rows: int, n_cols: int, label: str, limits: IntakeLimits) -> None:
    """Refuse a sheet with more rows or columns than allowed."""
    if n_rows > limits.max_rows_per_sheet:
        raise LimitExceededError(f"{label} 有 {n_rows} 行，超过上限 {limits.max_rows_per_sheet} 行"
                                 "（limits.max_rows_per_sheet），未读取。")
    if n_cols > limits.max_columns:
        raise LimitExceededError(f"{label} 有 {n_cols} 列，超过上限 {limits.max_columns} 列"
                                 "（limits.max_columns），未读取。")


def cap_text(text: str, limits: IntakeLimits) -> str:
    """``text`` cut to ``max_detail_chars`` (with a note of the full length)."""
    text = str(text)
    n = limits.max_detail_chars
    return text if len(text) <= n else text[:n] + f"…（共 {len(text)} 字，已截断）"


def cap_list(items: list, limits: IntakeLimits) -> list:
    """At most ``max_list_items`` items, each text capped; a last item says how many were left off."""
    out = [cap_text(x, limits) if isinstance(x, str) else x for x in items[: limits.max_list_items]]
    if len(items) > limits.max_list_items:
        out.append(f"……另有 {len(items) - limits.max_list_items} 项未列出")
    return out

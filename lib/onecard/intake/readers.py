"""Read any supported file into raw sheets: cells as Python values, no inference.

Every reader returns a list of :class:`RawSheet`. Text cells stay text (IDs are
never turned into numbers); typed Excel cells keep their type, so a numeric ID
cell can be recognised as damaged.

Source: REAL_WORLD_CASES.md B01, B02, B05, B07, B08.
"""

from __future__ import annotations

import csv
import datetime as _dt
import email
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core.errors import InputFileError
from ..core.log import logger
from .sniff import decode_text, sniff_format, text_name

__all__ = ["RawSheet", "read_file"]


@dataclass
class RawSheet:
    """One sheet as read.

    Attributes
    ----------
    name : str
        Sheet name (``""`` for CSV/text).
    grid : pd.DataFrame
        object dtype, columns 0..n-1, index = 1-based row number as a person
        sees it (Excel row, or CSV line). Empty cells are ``""`` or ``None``.
    merged : list of (r0, c0, r1, c1)
        Merged ranges, 0-based positions into ``grid``, inclusive.
    typed : bool
        True when numbers/dates in ``grid`` are typed Excel cells.
    hidden : bool
        True for hidden/very hidden sheets.
    original : pd.DataFrame or None
        The grid as read, when text cleaning changed it (:mod:`.cleaning`).
    cell_flags : dict of row number -> str
        Cleaning flags per changed row.
    """

    name: str
    grid: pd.DataFrame
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    typed: bool = False
    hidden: bool = False
    original: pd.DataFrame | None = None
    cell_flags: dict[int, str] = field(default_factory=dict)


def _frame(rows: list[list]) -> pd.DataFrame:
    width = max((len(r) for r in rows), default=0)
    rows = [r + [""] * (width - len(r)) if len(r) < width else r for r in rows]
    df = pd.DataFrame(rows, dtype=object) if rows else pd.DataFrame(dtype=object)
    df.index = range(1, len(df) + 1)
    return df


# ---------------------------------------------------------------- xlsx / xls
def _read_xlsx(path: Path) -> list[RawSheet]:
    try:
        import python_calamine as pc
        with path.open("rb") as fh:  # from a file object: calamine sniffs content, not the extension
            wb = pc.CalamineWorkbook.from_filelike(fh)
        out = []
        for meta in wb.sheets_metadata:
            sheet = wb.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            merged = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])]
            hidden = str(meta.visible).split(".")[-1] != "Visible"
            out.append(RawSheet(meta.name, _frame(rows), merged, True, hidden))
        return out
    except Exception as exc:  # calamine refuses some files openpyxl still reads
        logger.info("calamine failed on %s (%s); using openpyxl", path, exc)
    import openpyxl
    with path.open("rb") as fh:
        wb = openpyxl.load_workbook(io.BytesIO(fh.read()), read_only=False, data_only=True)
    out = []
    for ws in wb.worksheets:
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        rows = [["" if v is None else v for v in r] for r in rows]
        merged = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges]
        out.append(RawSheet(ws.title, _frame(rows), merged, True, ws.sheet_state != "visible"))
    return out


def _read_xls(path: Path) -> list[RawSheet]:
    import xlrd
    chatter = io.StringIO()  # xlrd writes "WARNING *** file size ..." to its logfile (stdout by default)
    try:
        try:
            book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True, logfile=chatter)
        except Exception as exc:
            if "encrypted" in str(exc).lower():
                raise
            book = xlrd.open_workbook(str(path), on_demand=True, logfile=chatter)
    finally:
        if chatter.getvalue().strip():
            logger.info("xlrd on %s: %s", path.name, chatter.getvalue().strip()[:500])
    out = []
    for idx in range(book.nsheets):
        sh = book.sheet_by_index(idx)
        cols = {}
        for c in range(sh.ncols):
            values = sh.col_values(c)
            types = sh.col_types(c)
            if xlrd.XL_CELL_DATE in types:
                values = [xlrd.xldate_as_datetime(v, book.datemode) if t == xlrd.XL_CELL_DATE else v
                          for v, t in zip(values, types)]
            cols[c] = values
        df = pd.DataFrame(cols, dtype=object) if cols else pd.DataFrame(dtype=object)
        df.index = range(1, len(df) + 1)
        merged = [(r0, c0, r1 - 1, c1 - 1) for r0, r1, c0, c1 in getattr(sh, "merged_cells", [])]
        out.append(RawSheet(sh.name, df, merged, True, getattr(sh, "visibility", 0) != 0))
        book.unload_sheet(idx)
    return out


# ---------------------------------------------------------------- HTML / XML / MIME
def _html_charset(data: bytes) -> str | None:
    m = re.search(rb"charset\s*=\s*[\"']?([A-Za-z0-9_\-]+)", data[:4096], re.I)
    if not m:
        return None
    enc = m.group(1).decode("ascii").lower()
    return "gb18030" if enc in ("gb2312", "gbk", "gb18030", "x-gbk") else enc


def _decode_declared(data: bytes, declared: str | None) -> tuple[str, str]:
    if declared:
        try:
            return data.decode(declared), declared
        except (UnicodeDecodeError, LookupError):
            logger.info("declared charset %s does not decode; sniffing", declared)
    return decode_text(data)


def _parse_html(text: str) -> list[RawSheet]:
    import lxml.html
    root = lxml.html.fromstring(text)
    out = []
    for ti, table in enumerate(root.iter("table")):
        rows: list[list] = []
        merged = []
        pending: dict[tuple[int, int], str] = {}
        for r, tr in enumerate(table.iter("tr")):
            row: list = []
            c = 0
            for cell in tr:
                if cell.tag not in ("td", "th"):
                    continue
                while (r, c) in pending:
                    row.append(pending.pop((r, c)))
                    c += 1
                value = cell.text_content().strip()
                cs = int(cell.get("colspan", 1) or 1)
                rs = int(cell.get("rowspan", 1) or 1)
                if cs > 1 or rs > 1:
                    merged.append((r, c, r + rs - 1, c + cs - 1))
                for dr in range(rs):
                    for dc in range(cs):
                        if dr == 0:
                            row.append(value if dc == 0 else "")
                        else:
                            pending[(r + dr, c + dc)] = ""
                c += cs
            while (r, c) in pending:
                row.append(pending.pop((r, c)))
                c += 1
            rows.append(row)
        if rows:
            out.append(RawSheet(f"表{ti + 1}", _frame(rows), merged, False, False))
    return out


_SS = "{urn:schemas-microsoft-com:office:spreadsheet}"


def _parse_xml2003(data: bytes) -> list[RawSheet]:
    from lxml import etree
    root = etree.fromstring(data, parser=etree.XMLParser(huge_tree=True, resolve_entities=False))
    out = []
    for ws in root.iter(f"{_SS}Worksheet"):
        name = ws.get(f"{_SS}Name", "")
        rows: list[list] = []
        merged = []
        hidden = any((v.text or "").strip() in ("SheetHidden", "SheetVeryHidden") for v in ws.iter("{urn:schemas-microsoft-com:office:excel}Visible"))
        for row in ws.iter(f"{_SS}Row"):
            ri = int(row.get(f"{_SS}Index", len(rows) + 1)) - 1
            while len(rows) < ri:
                rows.append([])
            cells: list = []
            for cell in row.iter(f"{_SS}Cell"):
                ci = int(cell.get(f"{_SS}Index", len(cells) + 1)) - 1
                while len(cells) < ci:
                    cells.append("")
                d = cell.find(f"{_SS}Data")
                value: object = ""
                if d is not None:
                    text = "".join(d.itertext())
                    kind = d.get(f"{_SS}Type", "String")
                    if kind == "Number":
                        try:
                            value = float(text)
                        except ValueError:
                            value = text
                    elif kind == "DateTime":
                        try:
                            value = _dt.datetime.fromisoformat(text[:19])
                        except ValueError:
                            value = text
                    else:
                        value = text
                cells.append(value)
                across = int(cell.get(f"{_SS}MergeAcross", 0))
                down = int(cell.get(f"{_SS}MergeDown", 0))
                if across or down:
                    merged.append((ri, ci, ri + down, ci + across))
                cells.extend([""] * across)
            rows.append(cells)
        out.append(RawSheet(name, _frame(rows), merged, True, hidden))
    return out


def _parse_mime(data: bytes) -> tuple[list[RawSheet], str]:
    msg = email.message_from_bytes(data)
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True) or b""
            text, enc = _decode_declared(payload, part.get_content_charset() or _html_charset(payload))
            return _parse_html(text), enc
    return [], ""


# ---------------------------------------------------------------- text
def _sniff_sep(text: str) -> str:
    lines = [ln for ln in text[:20000].splitlines() if ln.strip()][:30]
    best, best_n = ",", 0
    for sep in ("\t", ",", "|", ";"):
        n = sum(ln.count(sep) > 0 for ln in lines)
        if n > best_n:
            best, best_n = sep, n
    return best


def _parse_text(text: str) -> list[RawSheet]:
    sep = _sniff_sep(text)
    width = max((ln.count(sep) for ln in text.splitlines()), default=0) + 1
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, header=None, names=range(width), dtype=object,
                         keep_default_na=False, na_filter=False, skip_blank_lines=False,
                         quoting=csv.QUOTE_MINIMAL, engine="c")
    except pd.errors.ParserError as exc:
        logger.info("CSV parser: %s", exc)
        raise InputFileError(f"文本文件无法按分隔符 {sep!r} 解析（引号不成对或某行格式错误）。"
                             "请在 Excel 中打开后另存为 .xlsx 或“CSV UTF-8”再试。") from exc
    df.index = range(1, len(df) + 1)
    return [RawSheet("", df, [], False, False)]


_DAMAGED = "文件 {name} 已损坏（内容不完整或格式错误，可能是下载或拷贝中断），无法读取。请重新导出或重新拷贝该文件。"
_ENCRYPTED = "文件 {name} 有密码保护（已加密），无法读取。请在 Excel 中输入密码打开，去掉密码后另存为 .xlsx 再试。"


def _failure_reason(exc: Exception, fmt: str, name: str) -> str:
    """A Chinese reason for a reader's exception (the English text goes to the log only)."""
    text = f"{type(exc).__name__}: {exc}".lower()
    if "encrypt" in text or "password" in text:
        return _ENCRYPTED.format(name=name)
    if fmt in ("xlsx", "xls") or any(w in text for w in ("zip", "corrupt", "truncat", "eof", "size", "compdoc")):
        return _DAMAGED.format(name=name)
    return f"文件 {name}（识别为 {fmt} 格式）无法读取，可能已损坏。请在 Excel 中打开后另存为 .xlsx 再试。"


def read_file(path: str | Path, limits=None) -> tuple[str, str | None, list[RawSheet]]:
    """Read ``path`` into raw sheets, choosing the reader from the bytes.

    Returns
    -------
    (format, encoding, sheets)
        ``format`` from :func:`onecard.intake.sniff.sniff_format`; ``encoding``
        for text/HTML/XML formats (``None`` for binary workbooks); ``sheets``
        empty when the file is not a table (docx, binary).

    Parameters
    ----------
    path : str or Path
    limits : IntakeLimits, optional
        Checked before parsing: file size, a ``.xlsx``'s uncompressed sizes, a text
        file's longest line and line count (defaults: :func:`.limits.load_limits`).

    Raises
    ------
    InputFileError
        Empty, damaged (truncated) or encrypted file, undecodable text, or a workbook
        no reader can open; :class:`.limits.LimitExceededError` over a limit. Messages
        are Chinese; third-party warnings and log chatter go to the log, never the console.
    """
    from .limits import check_file_size, load_limits

    path = Path(path)
    name = text_name(path.name)
    limits = limits or load_limits()
    check_file_size(path, name, limits)
    fmt = sniff_format(path)
    if fmt == "empty":
        raise InputFileError(f"文件 {name} 是空文件（没有任何内容）。请重新导出。")
    if fmt == "damaged":
        raise InputFileError(_DAMAGED.format(name=name))
    if fmt == "encrypted":
        raise InputFileError(_ENCRYPTED.format(name=name))
    if fmt in ("docx", "binary"):
        return fmt, None, []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            return _read_format(path, fmt, limits, name)
        finally:
            for w in caught:
                logger.info("reading %s: %s", name, str(w.message)[:300])


def _read_format(path: Path, fmt: str, limits, name: str) -> tuple[str, str | None, list[RawSheet]]:
    """Dispatch to the reader of ``fmt``; reader failures become Chinese :class:`InputFileError`."""
    from .limits import LimitExceededError, check_text_lines, check_zip

    try:
        if fmt == "xlsx":
            check_zip(path, name, limits)
            return fmt, None, _read_xlsx(path)
        if fmt == "xls":
            return fmt, None, _read_xls(path)
        data = path.read_bytes()
        if fmt == "html":
            text, enc = _decode_declared(data, _html_charset(data))
            return fmt, enc, _parse_html(text)
        if fmt == "xml2003":
            return fmt, "xml", _parse_xml2003(data)
        if fmt == "mime":
            sheets, enc = _parse_mime(data)
            return fmt, enc, sheets
        check_text_lines(data, name, limits)
        text, enc = decode_text(data)
        return fmt, enc, _parse_text(text)
    except LimitExceededError:
        raise
    except InputFileError as exc:
        raise InputFileError(f"文件 {name}：{exc}") from exc
    except Exception as exc:
        logger.info("reader failed on %s (%s): %s: %s", name, fmt, type(exc).__name__, exc)
        raise InputFileError(_failure_reason(exc, fmt, name)) from exc

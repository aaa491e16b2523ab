"""Choose a file's format from its bytes, and decode text files.

The extension is never trusted: government systems "export to Excel" by
serving HTML, SpreadsheetML 2003 XML, MIME or tab text with an ``.xls`` name,
and a real ``.xlsx`` is often renamed ``.xls``.

Source: REAL_WORLD_CASES.md B05, B07, B08; DATA_CONTRACT.md (Header matching).
"""

from __future__ import annotations

import codecs
import mmap
import os
import re
import zipfile
from pathlib import Path

from ..core.errors import InputFileError

__all__ = ["sniff_format", "decode_text", "FORMATS", "text_name"]

#: Formats intake can tell apart. ``docx``/``binary``/``empty`` are not tables.
FORMATS = ("xlsx", "xls", "html", "xml2003", "mime", "text", "docx", "binary", "empty", "damaged", "encrypted")

#: Name of the stream an encrypted (password-protected) OOXML file keeps in its OLE container.
_ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def text_name(name: str | Path) -> str:
    """A file name or relative path as proper text, whatever the locale.

    Under an ASCII locale (``LC_ALL=C``) Python decodes non-ASCII file names with
    surrogate escapes (``\\udce5...``), which no UTF-8 writer (parquet, JSON, the
    console) accepts. The name's bytes are decoded as UTF-8 (Linux), else GB18030
    (names from Windows archives), else UTF-8 with backslash escapes; the path used to
    open the file is unchanged.
    """
    text = str(name)
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    raw = os.fsencode(text)
    for enc in ("utf-8", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    return raw.decode("utf-8", errors="backslashreplace")


def _head_text(head: bytes) -> str:
    """Lower-cased ASCII view of the first KB, for tag sniffing (UTF-16 aware)."""
    for bom, enc in _BOMS:
        if head.startswith(bom):
            return head.decode(enc, errors="replace").lower()  # sniffing only, never data
    if len(head) > 4 and head[1:2] == b"\x00" and head[3:4] == b"\x00":
        return head.decode("utf-16-le", errors="replace").lower()
    return head.decode("latin-1").lower()


def sniff_format(path: str | Path) -> str:
    """Return the format of ``path`` from its magic bytes and first kilobyte.

    Parameters
    ----------
    path : str or Path
        Any file.

    Returns
    -------
    str
        One of :data:`FORMATS`: ``xlsx`` (zip with ``xl/``), ``xls`` (OLE2/BIFF),
        ``html``, ``xml2003`` (SpreadsheetML 2003), ``mime`` (MHTML),
        ``text`` (CSV/TSV/TXT in any encoding), ``docx`` (other zip, a
        Word/PowerPoint file), ``binary`` (anything else with NUL bytes),
        ``empty``, ``damaged`` (a zip that does not open: a truncated .xlsx),
        ``encrypted`` (an OLE container holding an ``EncryptedPackage``: a
        password-protected .xlsx/.docx).

    Examples
    --------
    >>> sniff_format("发放明细.xls")  # doctest: +SKIP
    'html'
    """
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(4096)
    if not head.strip():
        return "empty"
    if head.startswith(_OLE):
        return "encrypted" if _has_encrypted_stream(path) else "xls"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as zf:
                names = zf.namelist()
        except (zipfile.BadZipFile, EOFError, ValueError):
            return "damaged"
        return "xlsx" if any(n.startswith("xl/") for n in names) else "docx"
    if head.startswith(b"%PDF") or head.startswith(b"{\\rtf"):
        return "binary"
    text = _head_text(head[:4096]).lstrip("\ufeff \t\r\n")
    if text.startswith("mime-version") or ("content-type: multipart" in text[:1024]):
        return "mime"
    if "<?mso-application" in text or ("<workbook" in text and "urn:schemas-microsoft-com:office:spreadsheet" in text):
        return "xml2003"
    if re.match(r"(<!--.*?-->\s*)*<(!doctype html|html|table|meta|head|body)", text, re.S) or "<table" in text[:1024]:
        return "html"
    has_bom = any(head.startswith(b) for b, _ in _BOMS)
    if b"\x00" in head and not has_bom and not (len(head) > 4 and head[1:2] == b"\x00") \
            and not _text_with_stray_nul(head):
        return "binary"
    return "text"


def _has_encrypted_stream(path: Path) -> bool:
    """Whether an OLE file names an ``EncryptedPackage`` stream (memory-mapped scan, no copy)."""
    with path.open("rb") as fh:
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return mm.find(_ENCRYPTED_STREAM) >= 0


def _text_with_stray_nul(head: bytes) -> bool:
    """Whether ``head`` is text with a few NUL bytes (a NUL typed into a name), not a binary file.

    Fewer than 1 % NUL bytes, and the rest decodes strictly as UTF-8 or GB18030 (the
    last, possibly cut, character allowed). Intake's cleaning removes the NULs later.
    """
    if head.count(0) > max(1, len(head) // 100):
        return False
    rest = head.replace(b"\x00", b"")
    for enc in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(enc)().decode(rest, final=False)
            return True
        except UnicodeDecodeError:
            continue
    return False


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes: BOM first, then strict UTF-8, then strict GB18030.

    Parameters
    ----------
    data : bytes
        The whole file.

    Returns
    -------
    (text, encoding)
        The text without BOM, and the encoding used (``utf-8-sig``, ``utf-16``,
        ``utf-32``, ``utf-8``, ``gb18030``, or ``utf-16-le`` for BOM-less UTF-16).

    Raises
    ------
    InputFileError
        If no encoding decodes the bytes strictly. Bytes are never ignored or
        replaced.

    Notes
    -----
    GB18030 is a superset of GBK and GB2312, so one attempt covers all three.
    Source: REAL_WORLD_CASES.md B05, B07.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(enc).lstrip("\ufeff"), enc
            except UnicodeDecodeError as exc:
                raise InputFileError(f"文件以 {enc} 字节序标记开头，但内容无法按 {enc} 解码（位置 {exc.start}）。"
                                     "请另存为 UTF-8 或 GBK 编码的 CSV。") from exc
    if len(data) >= 4 and data[1:2] == b"\x00" and data[3:4] == b"\x00":
        try:
            return data.decode("utf-16-le"), "utf-16-le"
        except UnicodeDecodeError:
            pass
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc), enc
        except UnicodeDecodeError:
            continue
    raise InputFileError("文件编码无法识别：既不是 UTF-8（含 BOM）、UTF-16，也不是 GBK/GB18030。"
                         "请在 Excel 中另存为“CSV UTF-8”或 .xlsx 后重试。")

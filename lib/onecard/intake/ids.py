"""Resident IDs, certificate numbers and bank/social-security card numbers.

Every function here works on *distinct* raw values (the pipeline factorises a
column first), and returns plain Python results the pipeline maps back.

A normaliser returns ``(value, flags, reason)``: ``value`` the canonical text or
``None``; ``flags`` a tuple of flag codes for a kept row; ``reason`` a
quarantine reason code or ``None``.

Source: DATA_CONTRACT.md (Identifiers and values); REAL_WORLD_CASES.md B01-B03,
B15, B16; GB 11643-1999 (check digit); GB/T 2260 (region codes).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from functools import lru_cache

import pandas as pd
from stdnum.cn import ric

from ..core.reference import code_history

__all__ = [
    "clean_text_id", "normalise_id", "id_problems", "id_problem", "upgrade_15",
    "normalise_cert", "normalise_account", "luhn_ok",
]

_INVISIBLE = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u00a0\u3000'\"`]+")
_ID18 = re.compile(r"^\d{17}[\dX]$")
_ID15 = re.compile(r"^\d{15}$")


def _is_number(raw) -> bool:
    return isinstance(raw, (int, float)) and not isinstance(raw, bool)


def _number_text(raw) -> tuple[str, int]:
    """Digits of a numeric cell and its count of significant digits."""
    if isinstance(raw, float):
        if math.isnan(raw):
            return "", 0
        if raw != int(raw):
            return repr(raw), 99
        raw = int(raw)
    s = str(abs(int(raw)))
    return s, len(s.rstrip("0")) if len(s) >= 16 else len(s)


#: A text cell that is a number written through a float: ``6217000000000000103.0``.
_FLOAT_TEXT = re.compile(r"^(\d+)\.0+$")
#: Most digits a float keeps exactly (Excel: 15 significant digits).
EXACT_DIGITS = 15


def float_text_digits(text: str) -> tuple[str, bool] | None:
    """Digits of a text identifier that carries a float's ``.0`` suffix.

    Parameters
    ----------
    text : str
        A cleaned identifier text (ID, account or phone).

    Returns
    -------
    (digits, lost) or None
        ``None`` when ``text`` has no ``.0`` suffix; else the digits before it and
        whether more than 15 digits remain (then the value went through a float and
        may have lost digits: ``*_precision_lost``, DATA_CONTRACT.md).

    Examples
    --------
    >>> float_text_digits("13812345678.0")
    ('13812345678', False)
    >>> float_text_digits("6217000000000000103.0")
    ('6217000000000000103', True)
    """
    m = _FLOAT_TEXT.match(text)
    if not m:
        return None
    digits = m.group(1)
    return digits, len(digits) > EXACT_DIGITS


def clean_text_id(text: str) -> str:
    """NFKC, remove whitespace/zero-width/quote characters, upper-case ``x``."""
    text = unicodedata.normalize("NFKC", str(text))
    return _INVISIBLE.sub("", text).upper()


def upgrade_15(id15: str) -> str:
    """Convert a first-generation 15-digit ID to 18 digits (century 19).

    >>> upgrade_15("110101580312013")
    '110101195803120138'
    """
    body = id15[:6] + "19" + id15[6:]
    return body + ric.calc_check_digit(body + "0")


@lru_cache(maxsize=None)
def _hubei_ranges() -> dict[str, list[tuple[int, int]]]:
    h = code_history()
    out: dict[str, list[tuple[int, int]]] = {}
    for code, start, end in zip(h["code"], h["start_year"], h["end_year"]):
        s = int(start) if not pd.isna(start) else 0
        e = int(end) if not pd.isna(end) else 9999
        out.setdefault(code, []).append((s, e))
    return out


@lru_cache(maxsize=4096)
def _region_ok(code: str, birth_year: int) -> bool:
    """Region code valid if in use at any time from the birth year on."""
    if code.startswith("42"):
        ranges = _hubei_ranges().get(code)
        if ranges is None:
            return False
        return any(end > birth_year for _, end in ranges)
    from stdnum import numdb
    return bool(numdb.get("cn/loc").info(code))


def id_problem(value: str) -> str | None:
    """Reason code for one normalised 18-character ID, or ``None`` if valid.

    Returns ``id_format``, ``id_checksum``, ``id_birthdate`` or ``id_region``.
    The region check is ours (see module notes), not python-stdnum's.
    """
    if not isinstance(value, str) or not _ID18.match(value):
        return "id_format"
    if value[-1] != ric.calc_check_digit(value):
        return "id_checksum"
    try:
        born = ric.get_birth_date(value)
    except Exception:  # stdnum raises InvalidComponent
        return "id_birthdate"
    if born.year < 1890 or born > _dt.date.today():
        return "id_birthdate"
    if not _region_ok(value[:6], born.year):
        return "id_region"
    return None


def id_problems(values: pd.Series) -> pd.Series:
    """Reason code per value: ``id_checksum``/``id_birthdate``/``id_region``/``id_format`` or NA.

    Parameters
    ----------
    values : pd.Series
        Normalised IDs (text). Missing values give NA.

    Returns
    -------
    pd.Series
        Same index, ``string`` dtype. Each distinct value is checked once.

    Notes
    -----
    Used by intake and by the INVALID_ID rule. Region codes: GB/T 2260 history in
    ``parameters/reference/hubei_codes_history.csv``; non-Hubei codes are accepted
    if python-stdnum knows them.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    res = [id_problem(u) for u in uniques]
    arr = pd.array(res, dtype="string")
    out = pd.Series(pd.NA, index=values.index, dtype="string")
    mask = codes >= 0
    if mask.any():
        out[mask] = arr.take(codes[mask])
    return out


def normalise_id(raw) -> tuple[str | None, tuple[str, ...], str | None]:
    """Normalise one raw ID cell.

    Returns ``(id, flags, reason)``. Numeric cells with >=16 significant
    digits, and text ending in ``.0`` with more than 15 digits before it, -> reason
    ``id_precision_lost`` (a ``.0`` on 15 or fewer digits is dropped, flagged
    ``float_suffix_removed``); a 15-digit value (text or number)
    is upgraded and flagged ``id_15_converted``; checks add ``id_checksum``,
    ``id_birthdate``, ``id_region`` or ``id_format`` flags (the row is kept).
    Empty -> ``(None, (), None)``.
    """
    flags: list[str] = []
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None, (), None
    if _is_number(raw):
        digits, sig = _number_text(raw)
        if len(digits) >= 16 or sig > 15:
            return None, (), "id_precision_lost"
        text = digits
        flags.append("id_from_number")
    else:
        text = clean_text_id(raw)
        if re.fullmatch(r"\d(\.\d+)?E\+\d+", text):
            return None, (), "id_precision_lost"
        floated = float_text_digits(text)
        if floated is not None:
            if floated[1]:
                return None, (), "id_precision_lost"
            text = floated[0]
            flags.append("float_suffix_removed")
        elif text != str(raw).strip(" "):
            flags.append("id_cleaned")
    if not text:
        return None, (), None
    if _ID15.match(text):
        try:
            _dt.date(1900 + int(text[6:8]), int(text[8:10]), int(text[10:12]))
        except ValueError:
            return text, tuple(flags + ["id_birthdate"]), None
        text = upgrade_15(text)
        flags.append("id_15_converted")
    problem = id_problem(text)
    if problem:
        flags.append(problem)
    return text, tuple(flags), None


def normalise_cert(raw) -> tuple[tuple[str | None, int | None, int | None], tuple[str, ...], str | None]:
    """Certificate number -> ``((cert_no, category, grade), flags, reason)``.

    20 characters = 18-character ID + category digit (1-7) + grade digit (1-4).
    A shorter 19/21-char variant or wrong digits is kept and flagged ``cert_format``.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return (None, None, None), (), None
    if _is_number(raw):
        return (None, None, None), (), "id_precision_lost"
    text = clean_text_id(raw)
    if not text:
        return (None, None, None), (), None
    m = re.fullmatch(r"(\d{17}[\dX])([1-7])([1-4])", text)
    if not m:
        return (text, None, None), ("cert_format",), None
    return (text, int(m.group(2)), int(m.group(3))), (), None


def luhn_ok(digits: str) -> bool:
    """Luhn (mod 10) check of a digit string."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


_MASK = re.compile(r"^\d{2,8}[*＊xX]{3,}\d{2,6}$")


def normalise_account(raw) -> tuple[str | None, tuple[str, ...], str | None]:
    """Bank/social-security account -> ``(digits, flags, reason)``.

    Numeric cells with >=16 digits, and text ending in a float's ``.0`` with more than
    15 digits before it, -> ``account_precision_lost`` (a ``.0`` suffix on 15 or fewer
    digits is dropped); masked
    ``6217********1234`` kept as given, flagged ``masked``; 16-19 digit card
    numbers failing Luhn flagged ``account_luhn``; placeholders -> missing.
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None, (), None
    if _is_number(raw):
        digits, sig = _number_text(raw)
        if len(digits) >= 16 or sig > 15:
            return None, (), "account_precision_lost"
        text = digits
    else:
        text = unicodedata.normalize("NFKC", str(raw))
        text = re.sub(r"[\s\u200b\u200c\u200d\u2060\ufeff'\"`\-]+", "", text)
        if re.fullmatch(r"\d(\.\d+)?[eE]\+\d+", text):
            return None, (), "account_precision_lost"
        floated = float_text_digits(text)
        if floated is not None:
            if floated[1]:
                return None, (), "account_precision_lost"
            text = floated[0]
    if text in ("", "无", "/", "0") or set(text) == {"0"}:
        return None, (), None
    if _MASK.match(text):
        return text.replace("＊", "*").upper().replace("X", "*"), ("masked",), None
    if not text.isdigit():
        return text, ("account_format",), None
    if 16 <= len(text) <= 19 and not luhn_ok(text):
        return text, ("account_luhn",), None
    return text, (), None

"""Value normalisers: money, months, dates, phones, banks, names, codes.

Each normaliser takes ONE raw cell value (``str``, ``float``/``int`` from a typed
Excel cell, ``datetime``/``date``, or ``None``) and returns
``(value, flags, reason)``: the canonical value or ``None``, a tuple of flag
codes for a kept row, and a quarantine reason or ``None``. The pipeline applies
them once per distinct value (``pd.factorize``), never per row.

Source: DATA_CONTRACT.md (Identifiers and values); REAL_WORLD_CASES.md B13, B14.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

from .ids import float_text_digits

__all__ = [
    "is_blank", "parse_money", "parse_month", "parse_date", "normalise_phone",
    "normalise_name", "normalise_text", "parse_small_int", "parse_category",
    "map_code", "PAYOUT_STATUS_TEXT", "CERT_STATUS_TEXT", "HUKOU_TEXT",
]

_EXCEL_ORIGIN = _dt.datetime(1899, 12, 30)
_MISSING_TEXT = {"", "-", "—", "--", "——", "－", "/", "\\", "nan", "NaN", "None", "null", "NULL", "#N/A"}


def is_blank(raw) -> bool:
    """True for None/NaN/empty or whitespace-only text."""
    if raw is None:
        return True
    if isinstance(raw, float):
        return math.isnan(raw)
    if isinstance(raw, str):
        return not raw.strip(" \t\r\n\u3000\u00a0\u200b\ufeff")
    return False


def _text(raw) -> str:
    return unicodedata.normalize("NFKC", str(raw)).strip()


# ---------------------------------------------------------------- money
def parse_money(raw, scale: int = 1) -> tuple[int | None, tuple[str, ...], str | None]:
    """Amount -> integer fen.

    Parameters
    ----------
    raw : cell value
        ``1,200.50``, ``800元``, ``￥1,000``, ``（200）`` (-200), a number.
    scale : int
        1 for yuan, 10000 for a column whose header unit was ``万元``.

    Returns
    -------
    (fen, flags, reason)
        ``—``/``-``/blank -> ``(None, (), None)`` (missing, not zero);
        unparseable -> reason ``unparseable_amount``. Half-up rounding to fen.
    """
    if is_blank(raw):
        return None, (), None
    flags: tuple[str, ...] = ()
    if isinstance(raw, bool):
        return None, (), "unparseable_amount"
    if isinstance(raw, (int, float)):
        dec = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(raw)
    else:
        text = _text(raw)
        text = re.sub(r"[\s,，元¥￥]|RMB|CNY", "", text)
        if text in _MISSING_TEXT:
            return None, (), None
        neg = False
        m = re.fullmatch(r"\((.*)\)", text)
        if m:
            text, neg = m.group(1), True
        try:
            dec = Decimal(text)
        except InvalidOperation:
            return None, (), "unparseable_amount"
        if not dec.is_finite():
            return None, (), "unparseable_amount"
        if neg:
            dec = -dec
    fen = (dec * scale * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if fen != dec * scale * 100:
        flags = ("amount_rounded",)
    return int(fen), flags, None


# ---------------------------------------------------------------- months and dates
_CN_Q = {"一": 1, "二": 2, "三": 3, "四": 4, "1": 1, "2": 2, "3": 3, "4": 4}
_YM = r"(\d{4})\s*(?:年|[./\-])\s*(\d{1,2})\s*月?"
_RE_QUARTER = re.compile(r"(\d{4})年?(?:第)?([一二三四1-4])季度?")
_RE_RANGE = re.compile(_YM + r"\s*(?:[-~～至到—]+)\s*(?:(\d{4})\s*(?:年|[./\-])\s*)?(\d{1,2})\s*月?")
_RE_YMD = re.compile(r"(\d{4})\s*(?:年|[./\-])\s*(\d{1,2})\s*(?:月|[./\-])?\s*(?:(\d{1,2})\s*日?)?(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
_RE_2Y = re.compile(r"(\d{2})年(\d{1,2})月")


def _period(y: int, m: int):
    if 1900 <= y <= 2100 and 1 <= m <= 12:
        return pd.Period(year=y, month=m, freq="M")
    return None


def _from_number(raw, typed: bool):
    n = float(raw)
    if math.isnan(n):
        return None, None
    if n == int(n):
        i = int(n)
        if 190001 <= i <= 210012:
            return (i // 100, i % 100, 1), None
        if 19000101 <= i <= 21001231:
            return (i // 10000, i // 100 % 100, i % 100), None
    if typed and 1 <= n < 2958466:
        d = _EXCEL_ORIGIN + _dt.timedelta(days=n)
        return (d.year, d.month, d.day), "excel_serial"
    return None, None


def _parse_ymd(raw, typed: bool):
    """-> (list of (y, m, d) or None, flag or None, reason code or None)."""
    if isinstance(raw, (_dt.datetime, _dt.date, pd.Timestamp)):
        return [(raw.year, raw.month, raw.day)], None, None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        ymd, flag = _from_number(raw, typed)
        return ([ymd] if ymd else None), flag, (None if ymd else "unparseable")
    text = _text(raw).replace(" ", "")
    if text in _MISSING_TEXT:
        return None, None, None
    if re.fullmatch(r"\d{6}", text):
        return [(int(text[:4]), int(text[4:]), 1)], None, None
    if re.fullmatch(r"\d{8}", text):
        return [(int(text[:4]), int(text[4:6]), int(text[6:]))], None, None
    m = _RE_QUARTER.fullmatch(text)
    if m:
        y, q = int(m.group(1)), _CN_Q[m.group(2)]
        return [(y, 3 * q - 2 + k, 1) for k in range(3)], "multi_month", None
    m = _RE_YMD.fullmatch(text)
    if m and m.group(3):
        return [(int(m.group(1)), int(m.group(2)), int(m.group(3)))], None, None
    m = _RE_RANGE.fullmatch(text)
    if m:
        y1, m1 = int(m.group(1)), int(m.group(2))
        y2 = int(m.group(3)) if m.group(3) else y1
        m2 = int(m.group(4))
        start, end = _period(y1, m1), _period(y2, m2)
        if start is None or end is None or end < start or (end - start).n > 35:
            return None, None, "unparseable"
        months = pd.period_range(start, end, freq="M")
        return [(p.year, p.month, 1) for p in months], ("multi_month" if len(months) > 1 else None), None
    m = _RE_YMD.fullmatch(text)
    if m:
        return [(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))], None, None
    if _RE_2Y.fullmatch(text) or re.fullmatch(r"\d{2}[./\-]\d{1,2}", text):
        return None, "two_digit_year", "unparseable"
    return None, None, "unparseable"


def parse_month(raw, typed: bool = False):
    """Period cell -> ``pd.Period('M')`` or a list of Periods (multi-month row).

    Parameters
    ----------
    raw : cell value
        ``2021年5月``, ``202105``, ``2021.05``, ``2021/5/1``, ``2022-5``,
        ``2022年5月1日``, ``2021年第一季度``, ``2021.01-2021.03``; a datetime; an
        Excel number (serial converted only when ``typed``: the cell came from a
        typed Excel cell in a month/date column).
    typed : bool
        Whether ``raw`` is a typed Excel cell.

    Returns
    -------
    (value, flags, reason)
        ``value`` a Period, a list of Periods (flag ``multi_month``), or None.
        Two-digit years (``22年5月``) are not guessed: reason ``unparseable``
        with flag ``two_digit_year``.
    """
    if is_blank(raw):
        return None, (), None
    ymds, flag, reason = _parse_ymd(raw, typed)
    flags = (flag,) if flag else ()
    if not ymds:
        return None, flags, reason
    periods = [_period(y, m) for y, m, _ in ymds]
    if any(p is None for p in periods):
        return None, flags, "unparseable"
    return (periods if len(periods) > 1 else periods[0]), flags, None


def parse_date(raw, typed: bool = False):
    """Date cell -> ``pd.Timestamp`` (day precision). Same spellings as :func:`parse_month`.

    A month-only value gives the 1st of the month, flagged ``date_month_only``;
    a multi-month value is unparseable as a date.
    """
    if is_blank(raw):
        return None, (), None
    ymds, flag, reason = _parse_ymd(raw, typed)
    flags = (flag,) if flag and flag != "multi_month" else ()
    if not ymds or len(ymds) != 1:
        return None, flags, reason or "unparseable"
    y, m, d = ymds[0]
    try:
        value = pd.Timestamp(_dt.date(y, m, d))
    except ValueError:
        return None, flags, "unparseable"
    if not (1900 <= y <= 2100):
        return None, flags, "unparseable"
    text = str(raw)
    if isinstance(raw, str) and not re.search(r"日|\d{1,2}[./\-]\d{1,2}[./\-]\d{1,2}|^\d{8}$", text.strip()):
        flags = flags + ("date_month_only",)
    return value, flags, None


# ---------------------------------------------------------------- people and contact
_DOTS = re.compile(r"[·•．.・‧∙⋅]")
_WS = re.compile(r"[\s\u200b\u200c\u200d\u2060\ufeff\u3000\u00a0]+")


def normalise_name(raw):
    """Whitespace removed, middle dots unified to ``·``. No script conversion."""
    if is_blank(raw):
        return None, (), None
    text = _WS.sub("", str(raw))
    text = _DOTS.sub("·", text)
    return text or None, (), None


def normalise_text(raw):
    """Stripped text (NFKC, outer whitespace removed); numbers without ``.0``."""
    if is_blank(raw):
        return None, (), None
    if isinstance(raw, float) and raw == int(raw):
        raw = int(raw)
    if isinstance(raw, (_dt.datetime, _dt.date)):
        raw = raw.isoformat()[:10]
    text = _text(raw).strip("\u200b\ufeff\u3000 ")
    return text or None, (), None


_PHONE_PLACEHOLDER = {"无", "没有", "暂无", "空", "/", "-", "—", "0", "未知", "null"}


def normalise_phone(raw):
    """Phone -> digits only; ``+86``/``86-``/spaces/dashes removed; placeholders missing.

    Flags ``phone_format`` when the result is neither an 11-digit mobile nor a
    landline (area code + 7-8 digits, or a bare 7-8 digit local number). A text cell
    ending in a float's ``.0`` (``13812345678.0``) loses the suffix when 15 or fewer
    digits remain; with more the value is missing, flagged ``phone_precision_lost``
    (the same rule as IDs and accounts, :func:`.ids.float_text_digits`).
    """
    if is_blank(raw):
        return None, (), None
    if isinstance(raw, float):
        raw = int(raw) if raw == int(raw) else raw
    text = _text(raw)
    if text in _PHONE_PLACEHOLDER:
        return None, (), None
    floated = float_text_digits(re.sub(r"\s", "", text))
    if floated is not None:
        if floated[1]:
            return None, ("phone_precision_lost",), None
        text = floated[0]
    text = re.split(r"[/,，;；、]", text)[0]
    text = re.sub(r"[\s\-()（）+]", "", text)
    if text.startswith("86") and len(text) == 13:
        text = text[2:]
    if not text or set(text) == {"0"} or text in _PHONE_PLACEHOLDER:
        return None, (), None
    ok = text.isdigit() and (re.fullmatch(r"1[3-9]\d{9}", text) or re.fullmatch(r"0\d{9,11}", text)
                             or re.fullmatch(r"\d{7,8}", text))
    return text, (() if ok else ("phone_format",)), None


# ---------------------------------------------------------------- codes
PAYOUT_STATUS_TEXT = {
    "成功": "paid", "发放成功": "paid", "已发放": "paid", "已到账": "paid", "到账": "paid",
    "正常": "paid", "支付成功": "paid", "已支付": "paid", "paid": "paid",
    "失败": "failed", "发放失败": "failed", "支付失败": "failed", "未到账": "failed", "failed": "failed",
    "退回": "returned", "已退回": "returned", "银行退回": "returned", "退票": "returned", "returned": "returned",
    "退回国库": "to_treasury", "退库": "to_treasury", "已退库": "to_treasury", "缴回国库": "to_treasury",
    "to_treasury": "to_treasury",
    "冲正": "reversed", "已冲正": "reversed", "冲销": "reversed", "reversed": "reversed",
}
CERT_STATUS_TEXT = {
    "正常": "active", "有效": "active", "在用": "active", "active": "active",
    "注销": "cancelled", "已注销": "cancelled", "cancelled": "cancelled",
    "迁出": "moved", "已迁出": "moved", "moved": "moved",
    "过期": "expired", "已过期": "expired", "失效": "expired", "expired": "expired",
}
HUKOU_TEXT = {
    "城镇": "urban", "城市": "urban", "非农业": "urban", "非农业户口": "urban", "城镇户口": "urban",
    "居民": "urban", "urban": "urban",
    "农村": "rural", "农业": "rural", "农业户口": "rural", "农村户口": "rural", "rural": "rural",
}


def map_code(raw, table: dict[str, str], unknown_flag: str):
    """Text -> code via ``table`` (exact after whitespace removal); unknown kept, flagged."""
    if is_blank(raw):
        return None, (), None
    text = _WS.sub("", _text(raw))
    if text in table:
        return table[text], (), None
    return text, (unknown_flag,), None


_CN_DIGIT = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
             "壹": 1, "贰": 2, "叁": 3, "肆": 4, "I": 1, "II": 2, "III": 3, "IV": 4}


def parse_small_int(raw):
    """Grade/category digit from ``一级``, ``1级``, ``1``, ``二``, ``IV``, 1.0."""
    if is_blank(raw):
        return None, (), None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return (int(raw), (), None) if raw == int(raw) else (None, ("int_format",), None)
    text = re.sub(r"[\s级等类]", "", _text(raw))
    text = re.sub(r"^(残疾)", "", text)
    if text.isdigit():
        return int(text), (), None
    if text in _CN_DIGIT:
        return _CN_DIGIT[text], (), None
    return None, ("int_format",), None


_CATEGORY_TEXT = {"视力": 1, "听力": 2, "言语": 3, "语言": 3, "肢体": 4, "智力": 5, "精神": 6, "多重": 7}


def parse_category(raw):
    """Disability category -> 1-7 from ``肢体``, ``肢体残疾``, ``4``, ``四类``."""
    if isinstance(raw, str):
        text = re.sub(r"[\s]|残疾|类", "", _text(raw))
        if text in _CATEGORY_TEXT:
            return _CATEGORY_TEXT[text], (), None
    return parse_small_int(raw)

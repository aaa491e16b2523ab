"""Building blocks of the demo district: invented names, IDs, cards, phones, months.

Everything here is vectorised over numpy arrays and driven by a
``numpy.random.Generator`` so a seed gives the same district every time.
No real personal data: names are drawn from lists of common characters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..policy import load_policy

#: Review period of the demo (months are indexed 0..23 from 2020-01).
REVIEW_START = pd.Period("2020-01", "M")
N_MONTHS = 24
#: Months for which a 公示 list is published (indices: 2021-06, 2021-12).
PUBLISHED_MONTHS = (17, 23)
#: Roster extract date (数据截止日期).
EXTRACT_DATE = pd.Timestamp("2022-01-15")

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅春生文斌海波宏新凤荣云德成林学福兴庆祥金珍翠莲萍淑琴辉武俊峰鹏飞燕丹琳健亮永安保顺")

ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))

#: Card BINs (first 6 digits) per bank, 19-digit debit cards.
BANK_BINS = {
    "中国农业银行": "622848", "中国邮政储蓄银行": "621799", "中国建设银行": "621700",
    "中国工商银行": "622202", "汉口银行": "622273", "招商银行": "621483",
}
#: Agent banks on the approved list (the baseline pays only through these).
APPROVED_BANKS = ("中国农业银行", "中国邮政储蓄银行", "中国建设银行")
#: Branch spellings used in payout files (folded to the canonical bank by intake).
BANK_BRANCH = {
    "中国农业银行": "中国农业银行蔡甸支行", "中国邮政储蓄银行": "中国邮政储蓄银行武汉市蔡甸区支行",
    "中国建设银行": "中国建设银行武汉蔡甸支行", "中国工商银行": "中国工商银行蔡甸支行",
    "汉口银行": "汉口银行蔡甸支行", "招商银行": "招商银行武汉分行",
}


def month_str(ix) -> str:
    """Month index (0 = 2020-01, may be negative) -> ``YYYY-MM``."""
    return str(REVIEW_START + int(ix))


def month_start(ix: np.ndarray) -> np.ndarray:
    """First day of each month index, as ``datetime64[D]``."""
    ix = np.asarray(ix, dtype=np.int64)
    return (np.datetime64("2020-01", "M") + ix).astype("datetime64[D]")


def month_index(dates) -> np.ndarray:
    """Month index of each ``datetime64`` date."""
    d = np.asarray(dates, dtype="datetime64[D]").astype("datetime64[M]")
    return (d - np.datetime64("2020-01", "M")).astype(np.int64)


def check_digits(body17: np.ndarray) -> np.ndarray:
    """GB 11643 check characters of an ``(n, 17)`` digit array."""
    return ID_CHECK[(body17 @ ID_WEIGHTS) % 11]


def make_ids(rng: np.random.Generator, region: np.ndarray, birth: np.ndarray,
             male: np.ndarray) -> np.ndarray:
    """Checksum-valid 18-character IDs: region code, birth date, sequence, check digit."""
    n = len(region)
    seq = rng.integers(0, 500, n) * 2 + male.astype(np.int64)  # odd = male
    ymd = pd.to_datetime(birth).strftime("%Y%m%d").to_numpy(dtype=str)
    body = np.char.add(np.char.add(region.astype(str), ymd), np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer("".join(body).encode(), dtype=np.uint8).reshape(n, 17) - 48
    return np.char.add(body, check_digits(digits.astype(np.int64)))


def fix_check(ids17: list[str]) -> list[str]:
    """Append the right check character to 17-character bodies (few values)."""
    out = []
    for body in ids17:
        d = np.array([int(c) for c in body])
        out.append(body + ID_CHECK[(d @ ID_WEIGHTS) % 11])
    return out


def luhn_cards(rng: np.random.Generator, bins: np.ndarray, length: int = 19) -> np.ndarray:
    """Luhn-valid card numbers with the given 6-digit BINs."""
    n = len(bins)
    body_len = length - 1
    rand = rng.integers(0, 10, (n, body_len - 6))
    head = np.frombuffer("".join(bins.astype(str)).encode(), dtype=np.uint8).reshape(n, 6) - 48
    digits = np.concatenate([head.astype(np.int64), rand], axis=1)
    # Luhn: double every second digit from the right of the full number; the
    # check digit is rightmost, so double positions body_len-1, body_len-3, ...
    d = digits.copy()
    dbl = np.arange(body_len)[::-1] % 2 == 0
    x = d[:, dbl] * 2
    d[:, dbl] = np.where(x > 9, x - 9, x)
    check = (10 - d.sum(axis=1) % 10) % 10
    chars = np.concatenate([digits, check[:, None]], axis=1).astype(np.uint8) + 48
    return np.array([r.tobytes().decode() for r in chars])


def luhn_ok(number: str) -> bool:
    """Luhn check of one card number."""
    total = 0
    for i, c in enumerate(reversed(number)):
        v = int(c)
        if i % 2 == 1:
            v = v * 2 - 9 if v * 2 > 9 else v * 2
        total += v
    return total % 10 == 0


def unique_phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct 11-digit mobile numbers."""
    prefixes = np.array(["130", "131", "132", "135", "136", "137", "138", "139", "150", "151",
                         "152", "155", "157", "158", "159", "176", "177", "180", "186", "187",
                         "189", "199"])
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        k = int((n - len(out)) * 1.1) + 10
        cand = np.char.add(prefixes[rng.integers(0, len(prefixes), k)],
                           np.char.zfill(rng.integers(0, 10**8, k).astype(str), 8))
        for c in cand.tolist():
            if c not in seen:
                seen.add(c)
                out.append(c)
    return np.array(out[:n])


def make_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Invented Chinese names: a common surname plus one or two given characters."""
    sur = np.array(SURNAMES)[rng.integers(0, len(SURNAMES), n)]
    g1 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    g2 = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    two = rng.random(n) < 0.7
    return np.where(two, np.char.add(np.char.add(sur, g1), g2), np.char.add(sur, g1))


def unique_names(rng: np.random.Generator, groups: np.ndarray, taken: set[str] | None = None
                 ) -> np.ndarray:
    """Names unique within each group (e.g. village), avoiding names in ``taken``."""
    names = make_names(rng, len(groups))
    taken = taken or set()
    for _ in range(50):
        key = pd.Series(np.char.add(np.char.add(groups.astype(str), "|"), names))
        bad = key.duplicated().to_numpy() | np.isin(names, list(taken))
        if not bad.any():
            break
        names[bad] = make_names(rng, int(bad.sum()))
    return names


def standards(policy_path=None) -> tuple[dict[str, str], dict[str, np.ndarray], object]:
    """Subsidy names and monthly standards (fen per review month) from the policy file.

    Returns ``(names, table, policy)``: ``names`` maps ``living``/``care`` to the
    canonical item names, ``table`` maps the same keys to an int array of 24
    standards in fen (one per review month).
    """
    policy = load_policy(policy_path)
    names = dict(policy.subsidy_names)
    table = {k: np.array([policy.standard_fen(name, REVIEW_START + i) for i in range(N_MONTHS)],
                         dtype=np.int64) for k, name in names.items()}
    return names, table, policy

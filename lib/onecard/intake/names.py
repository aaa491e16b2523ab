"""Chinese-aware name matching for reference-list rows without an ID.

Death, custody and move lists often carry only a name, a township and a
village (flagged ``no_id``). :func:`match_by_name` finds the roster person
behind such a row and explains the score; name similarity is supporting
evidence only, an ID always decides.

Comparison keys (B19 in ``REAL_WORLD_CASES.md``):

- spaces removed (``欧阳 明`` -> ``欧阳明``) and minority middle dots unified and
  ignored (``阿依·买买提`` = ``阿依买买提``); the surname is never split;
- variant characters (异体字, e.g. ``峯``/``峰``) folded by a small table;
- homophones (``张伟``/``章伟``): every toneless pinyin reading of each
  character (pypinyin, heteronyms included, so polyphonic surnames such as
  曾 zeng/ceng and 单 shan/dan match either reading).

Same name, different person (重名) is never merged: a candidate whose birth
date (from the ID, or a ``birth_date`` column) disagrees is dropped, and two or
more candidates at the best score leave the row unmatched.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

import pandas as pd

__all__ = ["match_by_name", "name_key", "pinyin_keys"]

#: Variant characters (异体字) folded for comparison; never used to rewrite data.
VARIANTS = str.maketrans({"峯": "峰", "羣": "群", "綫": "线", "堃": "坤", "喆": "哲", "甦": "苏",
                          "淸": "清", "衞": "卫", "姸": "妍", "昇": "升", "亜": "亚", "珎": "珍",
                          "兪": "俞", "沬": "沫", "敎": "教", "爲": "为"})
COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "令狐", "慕容",
                     "夏侯", "长孙", "宇文", "司徒", "端木", "申屠", "澹台", "轩辕")
SCORES = {"exact": 0.9, "variant": 0.8, "homophone": 0.6}
_SPACE = re.compile(r"\s+")
_DOTS = re.compile(r"[·•.．・‧]")


def name_key(name) -> str:
    """Comparison key: whitespace removed, middle dots removed (never split the surname)."""
    if name is None or (not isinstance(name, str) and pd.isna(name)):
        return ""
    return _DOTS.sub("", _SPACE.sub("", str(name)))


@lru_cache(maxsize=200_000)
def pinyin_keys(key: str, limit: int = 32) -> frozenset:
    """All toneless pinyin readings of a name key (heteronyms included, at most ``limit``)."""
    if not key:
        return frozenset()
    from pypinyin import Style, pinyin  # imported on first use: loading its dictionaries takes ~1 s
    readings = pinyin(key, style=Style.NORMAL, heteronym=True, errors=lambda s: list(s))
    combos = itertools.islice(itertools.product(*[r[:4] for r in readings]), limit)
    return frozenset(" ".join(c) for c in combos)


def _surname(key: str) -> str:
    return next((s for s in COMPOUND_SURNAMES if key.startswith(s)), key[:1])


def _birth_from_id(ids: pd.Series) -> pd.Series:
    s = ids.astype("string")
    return s.str.slice(6, 14).where(s.str.len() == 18)


def _text(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="string")
    s = df[name].astype("string").str.strip()
    return s.mask(s == "")


def match_by_name(ref: pd.DataFrame, roster: pd.DataFrame, min_score: float = 0.8) -> pd.DataFrame:
    """Match reference-list rows to roster persons, by ID where present, else by name.

    Parameters
    ----------
    ref : DataFrame
        A reference list (deaths, custody, moves ...) with ``name`` and
        optionally ``person_id``, ``township``, ``village``, ``birth_date``
        (``YYYYMMDD`` text or a date).
    roster : DataFrame
        The canonical roster (``person_id``, ``name``, ``township``, ``village``).
    min_score : float
        Score (0-1) at which a name-only match is accepted (default 0.8:
        exact or variant-character name in the same township and village).

    Returns
    -------
    DataFrame
        ``ref`` (same index, not mutated) with ``person_id`` filled where
        matched, ``match_score`` (float 0-1), ``match_reason`` (Chinese) and
        ``candidate_id`` (best candidate(s) below the threshold or ambiguous,
        ``;``-separated).

    Notes
    -----
    Scores: exact key 0.9, variant characters 0.8, homophone 0.6; +0.1 when a
    birth date agrees; a differing birth date excludes the candidate; an
    agreeing ID is 1.0. Candidates must share the township and, when both
    rows name one, the village (``DATA_CONTRACT.md``: villages are matched
    only within their township). Example: ``章伟`` (no ID) vs roster ``张伟``
    in the same village gives 0.6, "同音不同字", unmatched but listed as a
    candidate.
    """
    out = ref.copy()
    ids = _text(ref, "person_id")
    r_ids, r_keys = _text(roster, "person_id"), roster.get("name", pd.Series(index=roster.index)).map(name_key)
    r_birth = _birth_from_id(r_ids)
    cand = pd.DataFrame({"pid": r_ids, "key": r_keys, "town": _text(roster, "township"),
                         "village": _text(roster, "village"), "birth": r_birth}).dropna(subset=["pid"])
    cand = cand.drop_duplicates("pid")
    cand["variant"] = cand["key"].str.translate(VARIANTS)
    by_town = {t: g for t, g in cand.groupby(cand["town"].fillna(""))}
    known = set(cand["pid"])
    key_of = cand.set_index("pid")["key"]
    births = ref["birth_date"] if "birth_date" in ref.columns else pd.Series(pd.NA, index=ref.index)
    births = pd.Series([re.sub(r"\D", "", str(b))[:8] if not pd.isna(b) else pd.NA for b in births],
                       index=ref.index, dtype="string").fillna(_birth_from_id(ids))
    result_id, scores, reasons, cands = [], [], [], []
    for idx, key, town, village, given, birth in zip(
            ref.index, ref["name"].map(name_key), _text(ref, "township"), _text(ref, "village"),
            ids, births):
        pool = by_town.get(town, cand.iloc[0:0]) if not pd.isna(town) else cand
        if not pd.isna(village):
            pool = pool[pool["village"].isna() | (pool["village"] == village)]
        hits = _score(pool, key, birth)
        if not pd.isna(given):
            if given in known:
                note = _relation(key, key_of[given])
                result_id.append(given), scores.append(1.0), reasons.append(f"身份证号一致；{note}")
                cands.append(pd.NA)
            else:
                other = ";".join(sorted(hits["pid"])) if len(hits) else pd.NA
                why = (f"姓名与残疾人库 {other} {hits['why'].iloc[0]}，但身份证号不同，视为不同人（重名）"
                       if len(hits) else "身份证号不在残疾人库中，姓名也无匹配")
                result_id.append(given), scores.append(0.0), reasons.append(why), cands.append(pd.NA)
            continue
        if hits.empty:
            result_id.append(pd.NA), scores.append(0.0), cands.append(pd.NA)
            reasons.append("同乡镇（村）内无同名或同音人员")
            continue
        best = hits[hits["score"] == hits["score"].max()]
        score, why = float(best["score"].iloc[0]), best["why"].iloc[0]
        if len(best) > 1:
            result_id.append(pd.NA), scores.append(score), cands.append(";".join(sorted(best["pid"])))
            reasons.append(f"重名：{len(best)}名候选人{why}，无出生日期等信息区分，不予合并")
        elif score >= min_score:
            result_id.append(best["pid"].iloc[0]), scores.append(score), cands.append(pd.NA)
            reasons.append(why)
        else:
            result_id.append(pd.NA), scores.append(score), cands.append(best["pid"].iloc[0])
            reasons.append(f"{why}，分数低于{min_score:.1f}，仅列为候选，需人工核实")
    out["person_id"] = pd.Series(result_id, index=ref.index, dtype="string")
    out["match_score"] = pd.Series(scores, index=ref.index, dtype="float64")
    out["match_reason"] = pd.Series(reasons, index=ref.index, dtype="string")
    out["candidate_id"] = pd.Series(cands, index=ref.index, dtype="string")
    return out


def _relation(a: str, b: str) -> str:
    if a == b:
        return "姓名一致"
    if a.translate(VARIANTS) == b.translate(VARIANTS):
        return "姓名为异体字"
    if pinyin_keys(a) & pinyin_keys(b):
        return f"姓名同音不同字（{a}/{b}）"
    return f"姓名不同（{a}/{b}）"


def _score(pool: pd.DataFrame, key: str, birth) -> pd.DataFrame:
    """Candidates in ``pool`` for name ``key`` with score and reason; 重名 by birth date dropped."""
    if not key or pool.empty:
        return pd.DataFrame(columns=["pid", "score", "why"])
    py = pinyin_keys(key)
    same_len = pool[pool["key"].str.len() == len(key)]
    rows = []
    for pid, k, variant, b in zip(same_len["pid"], same_len["key"], same_len["variant"], same_len["birth"]):
        if k == key:
            tier, why = "exact", f"姓名一致（姓“{_surname(key)}”）"
        elif variant == key.translate(VARIANTS):
            tier, why = "variant", f"姓名为异体字（{key}/{k}）"
        elif py & pinyin_keys(k):
            tier, why = "homophone", f"同音不同字（{key}/{k}，读音 {sorted(py & pinyin_keys(k))[0]}）"
        else:
            continue
        score = SCORES[tier]
        if not pd.isna(birth) and not pd.isna(b):
            if birth != b:
                continue  # same name, different birth date: a different person (重名)
            score, why = min(1.0, score + 0.1), why + "，出生日期一致"
        rows.append((pid, round(score, 2), why))
    return pd.DataFrame(rows, columns=["pid", "score", "why"])

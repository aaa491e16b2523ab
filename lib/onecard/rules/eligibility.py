"""Clause 3.1.3: ineligible people receiving (grade, 低保 coverage, exclusive benefits, roster).

The month-level rules read the reconciliation table (``ctx.recon``);
``amount_fen`` is everything paid for the flagged months (nothing was due).
Months after a stop event are left to the ``PAID_AFTER_*`` rules.

Notes
-----
``FOCUS_PROBLEMS.md`` 3.1.3; eligibility (grades, categories, extensions,
coverage programmes) and exclusive benefits from the policy file
(鄂政办发〔2015〕96号 as recorded in ``parameters/policy/hubei.yaml``).
"""

from __future__ import annotations

import json
from decimal import Decimal

import pandas as pd

from .catalogue import rule
from .context import RuleContext
from .kit import (CATEGORY_ZH, GRADE_ZH, cert_conflict_note, citations, covered_text, empty_findings, finish, paid_rows,
                      per_subject, span_text, yuan_text)
from .stops import recon_findings


def _paid_live(rec) -> pd.Series:
    return ((rec["paid_fen"].fillna(0) != 0) & (rec["paid_n"] > 0) & ~rec["stopped"]).fillna(False)


@rule("INELIGIBLE_GRADE", clause="3.1.3", title_zh="残疾等级或类别不符",
      title_en="Grade or category not covered", severity="high", tables=("payouts", "roster"),
      description_zh="补贴发给政策未覆盖其残疾等级或类别的人（如肢体三级领取重度护理补贴）。",
      must_not_flag_zh="政策文件扩展覆盖的三、四级类别（如区里将智力、精神三级纳入）。")
def ineligible_grade(ctx: RuleContext) -> pd.DataFrame:
    """An item paid to a person whose grade/category the policy excludes.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = all paid for those months (fen).

    Notes
    -----
    Clause 3.1.3 (不符合条件享受); policy ``eligibility.grades/categories/extended``.
    """
    rec = ctx.recon
    ok = ctx.policy.grade_eligible(rec)
    live = _paid_live(rec)
    mask = live & rec["grade"].notna() & ~ok
    if "cert_conflict" in rec:
        # certificates that disagree without issue dates: not checkable (issue 9 item 3)
        unres = rec[(live & (rec["cert_conflict"] == "unresolved").fillna(False)).to_numpy(bool)]
        ctx.cannot_clear("INELIGIBLE_GRADE", unres.drop_duplicates("person_id").rename(
            columns={"person_id": "subject_id"})[["subject_id", "township"]], "roster.cert_issued",
            "花名册同一人有多条等级或类别不一致的残疾证记录且缺少发证日期，无法判断各月适用哪一条，列入未能排除合法情形清单待核实")

    def say(r):
        cat = CATEGORY_ZH.get(int(r.category), "") if pd.notna(r.category) else ""
        return (f"花名册登记为{cat}{GRADE_ZH.get(int(r.grade), r.grade)}"
                f"{cert_conflict_note(getattr(r, 'conflict', None), getattr(r, 'cert_rows', 0))}，不在{r.subsidy}的政策覆盖范围"
                f"（{covered_text(ctx.policy, r.subsidy)}），"
                f"仍发放{span_text(r.period_start, r.period_end, r.months)}合计{yuan_text(r.amount_fen)}")
    extra = {"grade": ("grade", "first"), "category": ("category", "first")}
    if "cert_conflict" in rec:
        extra |= {"conflict": ("cert_conflict", "first"), "cert_rows": ("cert_rows", "max")}
    return recon_findings(ctx, mask, rec["paid_fen"], say, extra=extra)


@rule("INELIGIBLE_NO_DIBAO", clause="3.1.3", title_zh="无低保仍领生活补贴",
      title_en="Living subsidy without 低保 coverage", severity="high", tables=("payouts", "dibao"),
      description_zh="生活补贴所属月份没有低保（或政策列明的）保障。",
      must_not_flag_zh="保障在月中开始或结束（当月任何一天在保即算）。")
def ineligible_no_dibao(ctx: RuleContext) -> pd.DataFrame:
    """A coverage-requiring item (living subsidy) paid for a month without coverage.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = all paid for the uncovered months (fen).

    Notes
    -----
    Clause 3.1.3; policy ``eligibility.requires_coverage`` (低保 by default).
    """
    rec = ctx.recon
    mask = _paid_live(rec) & (rec["covered"] == False).fillna(False)  # noqa: E712

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}不在低保（或政策规定的）保障范围内，"
                f"仍发放{r.subsidy}合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say)


@rule("EXCLUSIVE_BENEFIT", clause="3.1.3", title_zh="重复享受互斥待遇",
      title_en="Paid alongside an exclusive benefit", severity="high",
      tables=("payouts", "other_benefits"),
      description_zh="某月领取补贴的同时享受政策规定不能同时享受的待遇。",
      must_not_flag_zh="政策允许同时享受的待遇。")
def exclusive_benefit(ctx: RuleContext) -> pd.DataFrame:
    """An item paid for a month in which the person holds a benefit the policy
    declares exclusive with it.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = all paid for those months (fen).

    Notes
    -----
    Clause 3.1.3 (重复享受); policy ``subsidies.<key>.exclusive_with``.
    """
    rec = ctx.recon
    mask = _paid_live(rec) & rec["exclusive_program"].notna()

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}同时享受{r.prog}，"
                f"按政策不能与{r.subsidy}同时享受，仍发放合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say,
                          extra={"prog": ("exclusive_program", "first")})


def _damaged_roster_matches(ctx: RuleContext, table: str = "roster") -> set[tuple[str, str]]:
    """(first 15 ID digits, name) of ``table`` rows quarantined as ``id_precision_lost``.

    Read from ``ctx.tables['quarantine']`` or ``ctx.extras['quarantine']`` (intake's
    ``quarantine.csv`` columns: ``table, reason, raw`` with the row's cells as JSON).
    """
    q = ctx.tables.get("quarantine", ctx.extras.get("quarantine"))
    if q is None or len(q) == 0:
        return set()
    q = q[(q["table"] == table) & (q["reason"] == "id_precision_lost")]
    out = set()
    for raw in q["raw"].dropna():  # quarantined rows are few
        try:
            cells = json.loads(raw)
        except (TypeError, ValueError):
            continue
        vals = list(cells.values()) if isinstance(cells, dict) else list(cells)
        ids, names = [], []
        for v in vals:
            s = str(v).strip()
            # both readings of the damaged number: exact (Decimal) and as Excel's double
            # (float("4.2011419580714e+17") is 420114195807139968): either prefix may be the one
            for parse in (Decimal, float):
                try:
                    digits = format(int(parse(s)), "d") if any(ch.isdigit() for ch in s) and \
                        s.replace(".", "", 1).replace("E+", "").replace("e+", "").isdigit() else ""
                except (ValueError, ArithmeticError):
                    digits = ""
                if len(digits) >= 16:
                    ids.append(digits[:15])
            if s and not any(ch.isdigit() for ch in s):
                names.append(s)
        out |= {(i, n) for i in ids for n in names}
    return out


@rule("NOT_IN_ROSTER", clause="3.1.3", title_zh="领取人不在残疾人花名册",
      title_en="Beneficiary not in the roster", severity="high", tables=("payouts", "roster"),
      description_zh="成功发放给残疾人基础信息库中没有的身份证号。",
      must_not_flag_zh="花名册中因身份证号精度丢失被隔离、但前15位和姓名一致的行（数据质量问题）。")
def not_in_roster(ctx: RuleContext) -> pd.DataFrame:
    """Payments to a ``person_id`` absent from the disability roster.

    Returns
    -------
    DataFrame
        One row per person, ``subsidy`` blank, ``amount_fen`` all paid (fen).

    Notes
    -----
    Clause 3.1.3 / 3.3.2 (虚报冒领). A damaged roster row (``id_precision_lost``)
    that matches on the first 15 digits and the name is a data problem, not a ghost.
    """
    p = paid_rows(ctx, listed_only=False)
    known = set(ctx.tables["roster"]["person_id"].dropna().astype(str))
    p = p[~p["person_id"].astype(str).isin(known)]
    damaged = _damaged_roster_matches(ctx)
    if damaged and len(p):
        k = list(zip(p["person_id"].astype(str).str[:15], p["name"].astype("string").fillna("")))
        p = p[[x not in damaged for x in k]]
    if p.empty:
        return empty_findings()
    months = p[["person_id", "period", "name", "township", "village"]].assign(
        amount_fen=p["amount"].fillna(0).astype("int64"))
    out = per_subject(months, subsidy=False)
    c = citations(months.rename(columns={"person_id": "subject_id"}),
                  p.rename(columns={"person_id": "subject_id"}), on=["subject_id", "period"],
                  group=["subject_id"])
    out = out.merge(c, on="subject_id", how="left")
    ev = pd.Series([f"身份证号不在残疾人基础信息库中，{span_text(r.period_start, r.period_end, r.months)}"
                    f"仍领取补贴合计{yuan_text(r.amount_fen)}{r.cite if isinstance(r.cite, str) else ''}"
                    for r in out.itertuples(index=False)], index=out.index)
    return finish(out, "person", ev)

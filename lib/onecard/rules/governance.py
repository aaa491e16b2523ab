"""Clauses 3.1.6 and 3.3: approval, records, failed payments, identities.

Notes
-----
``FOCUS_PROBLEMS.md`` 3.1.6 (审核审批, 信息更新, 资金退回),
3.3.1 (优亲厚友), 3.3.2 (虚报冒领: invalid IDs, certificate mismatches).
N values from ``parameters/rules.yaml``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..recon.reconcile import moved_out, with_matched_ids
from .catalogue import rule
from .context import RuleContext
from .kit import (citations, empty_findings, finish, is_known, known, paid_rows, per_subject, period_rows,
                  span_text, yuan_text)
from .stops import recon_findings

KEY = ["person_id", "subsidy", "period"]


def _cite_person(out, months, rows, group_sub, by_period=True, table="payouts"):
    group = ["subject_id"] + (["subsidy"] if group_sub else [])
    on = group + (["period"] if by_period else [])
    c = citations(months.rename(columns={"person_id": "subject_id"}),
                  rows.rename(columns={"person_id": "subject_id"}), on=on, group=group, table=table)
    return out.merge(c, on=group, how="left")


def _ev(out, say):
    return pd.Series([say(r) + (r.cite if isinstance(r.cite, str) else "")
                      for r in out.itertuples(index=False)], index=out.index)


@rule("NO_APPROVAL_RECORD", clause="3.1.6", title_zh="无审批记录发放", title_en="Paid without approval record",
      severity="medium", tables=("payouts", "entitlements"),
      description_zh="成功发放的所属月份没有任何享受/审批记录覆盖。", must_not_flag_zh="（仅在提供审批台账时检查）")
def no_approval_record(ctx: RuleContext) -> pd.DataFrame:
    """Successful payments for months no entitlement record covers.

    Returns the standard findings; ``amount_fen`` = all paid for those months (fen).

    Notes
    -----
    Clause 3.1.6 (未经审核审批). Months after a stop event are left to those rules.
    """
    rec = ctx.recon
    mask = ((rec["paid_fen"].fillna(0) != 0) & (rec["paid_n"] > 0) & ~rec["entitled"] & ~rec["stopped"]).fillna(False)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}没有审批（享受）记录覆盖，"
                f"仍发放合计{yuan_text(r.amount_fen)}")
    return recon_findings(ctx, mask, rec["paid_fen"], say)


@rule("FAILED_NOT_RESOLVED", clause="3.1.6", title_zh="发放失败未处理", title_en="Failed payment not resolved",
      severity="medium", tables=("payouts",), params={"days": 90},
      description_zh="发放失败或被退回后，N天内既未重新成功发放，也未退回国库。", must_not_flag_zh="",
      message="{days}天内既未重新发放也未退回国库")
def failed_not_resolved(ctx: RuleContext) -> pd.DataFrame:
    """Failed or returned payments neither re-paid nor returned to the treasury within N days.

    The failure date is ``returned_on``, else ``paid_on``, else the deadline of
    the period. A failure younger than N days at the end of the data (the last
    payment date or the end of the review period) is not yet due.

    Returns
    -------
    DataFrame
        Standard findings; ``amount_fen`` = the failed amount (fen).

    Notes
    -----
    Clause 3.1.6 (资金未按规定退回); N = ``FAILED_NOT_RESOLVED.days``.
    """
    days = int(ctx.param("FAILED_NOT_RESOLVED", "days"))
    p = period_rows(ctx)
    p = p[p["person_id"].notna()]
    fail = p[p["status"].isin(["failed", "returned"]).to_numpy(bool)]
    if fail.empty:
        return empty_findings()
    when = fail["paid_on"].astype("datetime64[s]")
    if "returned_on" in fail:
        when = fail["returned_on"].astype("datetime64[s]").fillna(when)
    when = when.fillna(ctx.policy.deadline(fail["period"]))
    limit = when + pd.Timedelta(days=days)
    as_of = max(pd.Timestamp(ctx.payouts["paid_on"].max()) if ctx.payouts["paid_on"].notna().any()
                else pd.Timestamp.min, (ctx.period[1] + 1).to_timestamp() - pd.Timedelta(days=1))
    f = fail.assign(_when=when, _limit=limit, _i=np.arange(len(fail)))
    due = (f["_limit"] < as_of).to_numpy(bool)
    f = f[due]
    fix = p[(p["ok"] | (p["status"] == "to_treasury")).to_numpy(bool)]
    fix_when = fix["paid_on"].astype("datetime64[s]")
    if "returned_on" in fix:
        fix_when = fix_when.where(fix["status"] == "paid", fix["returned_on"].astype("datetime64[s]").fillna(fix_when))
    fx = fix[KEY].assign(_fw=fix_when.to_numpy(), _fx=True)
    m = f[KEY + ["_i", "_when", "_limit"]].merge(fx, on=KEY, how="left")
    # a re-payment or treasury return within N days (one without a date counts as made)
    has_fix = m["_fw"].notna() | m["_fx"].fillna(False).astype(bool)
    in_time = ((m["_fw"] >= m["_when"]) & (m["_fw"] <= m["_limit"])).fillna(False)
    solved = in_time | (has_fix & m["_fw"].isna())
    ok_i = set(m.loc[solved.to_numpy(bool), "_i"])
    bad = f[~f["_i"].isin(ok_i)]
    if bad.empty:
        return empty_findings()
    months = bad[KEY + ["name", "township", "village"]].assign(
        amount_fen=bad["amount"].fillna(0).astype("int64"))
    out = per_subject(months)
    out = _cite_person(out, months, bad, True)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}发放失败或被退回"
                f"合计{yuan_text(r.amount_fen)}，{crit}")
    crit = ctx.message("FAILED_NOT_RESOLVED")
    return finish(out, "person", _ev(out, say))


@rule("ROSTER_STATUS_STALE", clause="3.1.6", title_zh="花名册状态未更新", title_en="Roster status stale",
      severity="medium", tables=("roster",), optional_tables=("deaths", "moves"), params={"days": 60},
      description_zh="已死亡或户籍迁出本区超过N天（至花名册截止日期），花名册仍显示证件正常。",
      must_not_flag_zh="区内迁移。", message="已超过{days}天")
def roster_status_stale(ctx: RuleContext) -> pd.DataFrame:
    """Active certificates of people listed as dead or moved out more than N days
    before the roster's extract date (else the end of the review period).

    Returns
    -------
    DataFrame
        One row per person, ``subsidy`` blank, ``period_start``/``period_end`` the
        event month, ``months`` blank, ``amount_fen`` 0.

    Notes
    -----
    Clause 3.1.6 (信息未及时更新); N = ``ROSTER_STATUS_STALE.days``.
    """
    if not (ctx.has("deaths") or ctx.has("moves")):
        return empty_findings()
    days = int(ctx.param("ROSTER_STATUS_STALE", "days"))
    r = ctx.tables["roster"]
    if "cert_status" not in r:  # status not supplied: nothing shows a certificate as active
        return empty_findings()
    r = r[known(r["cert_status"] == "active") & is_known(r["person_id"])]
    end = (ctx.period[1] + 1).to_timestamp() - pd.Timedelta(days=1)
    ref = r["extract_date"].astype("datetime64[s]").fillna(end) if "extract_date" in r else \
        pd.Series(end, index=r.index)
    r = r.assign(_ref=ref.to_numpy())
    ev = []
    if ctx.has("deaths"):
        d = with_matched_ids(ctx.tables["deaths"], ctx.tables["roster"])
        ev.append(pd.DataFrame({"person_id": d["person_id"].astype("string").to_numpy(),
                                "on": d["died_on"].astype("datetime64[s]").to_numpy(), "what": "死亡"}))
    if ctx.has("moves"):
        m = with_matched_ids(ctx.tables["moves"], ctx.tables["roster"])
        m = m[moved_out(m).to_numpy(bool)]
        ev.append(pd.DataFrame({"person_id": m["person_id"].astype("string").to_numpy(),
                                "on": m["moved_on"].astype("datetime64[s]").to_numpy(), "what": "户籍迁出本区"}))
    e = pd.concat(ev, ignore_index=True).dropna(subset=["on"]).sort_values("on", kind="stable")
    e = e.drop_duplicates("person_id")
    x = r.merge(e, on="person_id", how="inner")
    x = x[(x["on"] < x["_ref"] - pd.Timedelta(days=days)).to_numpy(bool)].drop_duplicates("person_id")
    if x.empty:
        return empty_findings()
    x = x.assign(period=x["on"].dt.to_period("M"), amount_fen=0)
    out = per_subject(x, subsidy=False)
    out["months"] = pd.NA
    info = x.set_index("person_id")
    out["on"] = out["subject_id"].map(info["on"])
    out["what"] = out["subject_id"].map(info["what"])
    out["ref"] = out["subject_id"].map(info["_ref"])
    out = _cite_person(out, x.drop(columns="period"), ctx.tables["roster"], False, by_period=False,
                       table="roster")

    def say(r):
        return (f"已于{r.on:%Y-%m-%d}{r.what}，至花名册截止日{r.ref:%Y-%m-%d}{crit}，"
                f"花名册仍显示残疾人证状态正常")
    crit = ctx.message("ROSTER_STATUS_STALE")
    return finish(out, "person", _ev(out, say))


def _money_per_person(ctx, people: pd.Index | np.ndarray):
    p = paid_rows(ctx, listed_only=False)
    return p[p["person_id"].isin(people)]


@rule("OFFICIAL_RECIPIENT", clause="3.3.1", title_zh="公职人员或村干部领取补贴",
      title_en="Beneficiary is an official", severity="low", tables=("payouts", "officials"),
      description_zh="补贴对象在公职人员及村（社区）干部名单上（残疾公职人员也可能符合条件，需核实）。",
      must_not_flag_zh="")
def official_recipient(ctx: RuleContext) -> pd.DataFrame:
    """Beneficiaries who are on the officials list (low severity: disabled officials may qualify).

    Returns
    -------
    DataFrame
        One row per person, ``subsidy`` blank, ``amount_fen`` all paid (fen).

    Notes
    -----
    Clause 3.3.1 (优亲厚友). Officials listed without an ID are matched by name
    when ``onecard.intake.names`` is available.
    """
    o = with_matched_ids(ctx.tables["officials"], ctx.tables.get("roster"))
    ids = o["person_id"].dropna().astype(str).unique()
    p = _money_per_person(ctx, ids)
    if p.empty:
        return empty_findings()
    pos = o.drop_duplicates("person_id").set_index("person_id")
    months = p[["person_id", "period", "name", "township", "village"]].assign(
        amount_fen=p["amount"].fillna(0).astype("int64"))
    out = per_subject(months, subsidy=False)
    out["pos"] = out["subject_id"].map(
        (pos.get("employer", pd.Series(dtype="string")).astype("string").fillna("") +
         pos.get("position", pd.Series(dtype="string")).astype("string").fillna("")))
    out = _cite_person(out, months, p, False)

    def say(r):
        who = r.pos if isinstance(r.pos, str) and r.pos else "公职人员或村（社区）干部"
        return (f"补贴对象在公职人员及村（社区）干部名单上（{who}），{span_text(r.period_start, r.period_end, r.months)}"
                f"领取补贴合计{yuan_text(r.amount_fen)}，需核实是否符合条件")
    return finish(out, "person", _ev(out, say))


_ID_REASON = {"id_checksum": "校验位错误", "id_birthdate": "出生日期不存在", "id_region": "地区码在出生年份及以后从未使用",
              "id_format": "格式错误"}


def _id_problems(values: pd.Series) -> pd.Series:
    try:
        from ..intake.ids import id_problems
    except ImportError:  # intake not present: check digit and birth date only
        from stdnum.cn import ric
        uniq = values.dropna().unique()
        res = {}
        for v in uniq:
            try:
                ric.validate(v)
                res[v] = pd.NA
            except Exception as exc:  # noqa: BLE001
                res[v] = "id_checksum" if "checksum" in type(exc).__name__.lower() else "id_birthdate"
        return values.map(res).astype("string")
    return id_problems(values)


@rule("INVALID_ID", clause="3.3.2", title_zh="身份证号无效", title_en="Invalid ID number", severity="high",
      tables=("payouts",),
      description_zh="领取补贴的身份证号校验位错误、出生日期不存在，或地区码在出生年份及以后从未使用。",
      must_not_flag_zh="出生年份时仍在使用的旧地区码（如1992年前出生者的420121）；出生后才设立的地区码（如1958年出生者的420114）。")
def invalid_id(ctx: RuleContext) -> pd.DataFrame:
    """A paid ``person_id`` failing the check digit, birth date or region-code history.

    Returns
    -------
    DataFrame
        One row per person, ``subsidy`` blank, ``amount_fen`` all paid (fen).

    Notes
    -----
    Clause 3.3.2 (虚报冒领); region history in ``parameters/reference/hubei_codes_history.csv``
    (checked by ``onecard.intake.ids.id_problems``, each distinct value once).
    """
    p = paid_rows(ctx, listed_only=False)
    ids = pd.Series(p["person_id"].astype("string").unique())
    prob = _id_problems(ids)
    bad = dict(zip(ids[prob.notna()], prob[prob.notna()]))
    p = p[p["person_id"].isin(list(bad))]
    if p.empty:
        return empty_findings()
    months = p[["person_id", "period", "name", "township", "village"]].assign(
        amount_fen=p["amount"].fillna(0).astype("int64"))
    out = per_subject(months, subsidy=False)
    out["why"] = out["subject_id"].map(bad)
    out = _cite_person(out, months, p, False)

    def say(r):
        return (f"身份证号{r.subject_id}{_ID_REASON.get(r.why, r.why)}，"
                f"{span_text(r.period_start, r.period_end, r.months)}仍领取补贴合计{yuan_text(r.amount_fen)}")
    return finish(out, "person", _ev(out, say))


@rule("CERT_ID_MISMATCH", clause="3.3.2", title_zh="残疾人证号与身份证号或等级不符",
      title_en="Certificate number disagrees with ID or grade", severity="medium", tables=("roster",),
      description_zh="残疾人证号前18位与持证人身份证号不同，或证号中的类别、等级数字与花名册不一致。",
      must_not_flag_zh="")
def cert_id_mismatch(ctx: RuleContext) -> pd.DataFrame:
    """Certificate numbers whose first 18 characters differ from the holder's ID,
    or whose category/grade digits (19th/20th) disagree with the roster.

    Returns
    -------
    DataFrame
        One row per person, ``subsidy`` blank, ``amount_fen`` 0, period blank.

    Notes
    -----
    Clause 3.3.2; certificate number layout from ``DATA_CONTRACT.md`` (``cert_no``).
    """
    r = ctx.tables["roster"]
    if "cert_no" not in r:
        return empty_findings()
    r = r[r["cert_no"].notna() & r["person_id"].notna()]
    cert = r["cert_no"].astype("string").str.upper()
    pid = r["person_id"].astype("string").str.upper()
    why = pd.Series("", index=r.index, dtype="string")
    why = why.mask((cert.str[:18] != pid).fillna(False), why + "证号前18位与身份证号不同；")
    if "category" in r:
        c = r["category"].astype("Int64").astype("string")
        why = why.mask((c.notna() & (cert.str[18] != c)).fillna(False), why + "证号类别位与花名册不符；")
    if "grade" in r:
        g = r["grade"].astype("Int64").astype("string")
        why = why.mask((g.notna() & (cert.str[19] != g)).fillna(False), why + "证号等级位与花名册不符；")
    bad = r[(why != "").to_numpy(bool)].assign(_why=why[why != ""])
    bad = bad.drop_duplicates("person_id")
    if bad.empty:
        return empty_findings()
    out = pd.DataFrame({"subject_id": bad["person_id"].to_numpy(), "name": bad.get("name"),
                        "township": bad.get("township"), "village": bad.get("village"),
                        "amount_fen": 0, "cert": cert[bad.index].to_numpy(),
                        "why": bad["_why"].str.rstrip("；").to_numpy()})
    out["cite"] = [f"（来源：{f}{'/' + s if isinstance(s, str) and s else ''} 第{n}行）"
                   for f, s, n in zip(bad["_file"], bad["_sheet"], bad["_row"])]
    rows = pd.DataFrame({"subject_id": bad["person_id"].astype("string").to_numpy(), "table": "roster",
                         "_file": bad["_file"].to_numpy(), "_sheet": bad["_sheet"].to_numpy(),
                         "_row": bad["_row"].to_numpy(), "amount_fen": 0})
    return finish(out, "person", _ev(out, lambda x: f"残疾人证号{x.cert}：{x.why}"), rows=rows)

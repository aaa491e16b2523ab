"""Clause 3.1.5: the published list (公示) against the payouts.

Notes
-----
``FOCUS_PROBLEMS.md`` 3.1.5 (policy list / allocation results not published, or
publicity not done). Lists mask IDs and names; comparison is on the masked form.
"""

from __future__ import annotations

import pandas as pd

from ..recon.prepare import fold_subsidy
from .kit import empty_findings, finish, in_period, paid_rows, per_subject, span_text, yuan_text
from .catalogue import rule
from .context import RuleContext
from .governance import KEY, _cite_person, _ev


def _fold_name(values: pd.Series) -> pd.Series:
    """Names for comparison: whitespace and middle dots removed (``onecard.intake.names``)."""
    return values.astype("string").fillna("").str.replace(r"[\s·•.．・‧]", "", regex=True)


def _mask_like(values: pd.Series, template: str) -> pd.Series:
    """Mask ``values`` at the ``*`` positions of ``template`` (values of the same length only).

    Vectorised by slicing: the kept runs of the template are copied, the starred
    runs replaced by stars.
    """
    s = values.astype("string").fillna("")
    out = pd.Series("", index=s.index, dtype="string")
    i = 0
    while i < len(template):
        j = i
        star = template[i] == "*"
        while j < len(template) and (template[j] == "*") == star:
            j += 1
        out = out + ("*" * (j - i) if star else s.str.slice(i, j))
        i = j
    return out.where(s.str.len() == len(template), s)


@rule("DISCLOSURE_MISMATCH", clause="3.1.5", title_zh="公示名单与发放不符", title_en="Disclosure list disagrees with payouts",
      severity="medium", tables=("payouts", "disclosures"),
      description_zh="公示名单有而无实际发放、实际发放而公示名单无，或金额不一致（在脱敏后的形式上比对）。",
      must_not_flag_zh="脱敏造成的差异（按公示的脱敏形式比对）。")
def disclosure_mismatch(ctx: RuleContext) -> pd.DataFrame:
    """Published list entries without payout, payouts missing from the list, or amounts that differ.

    Payout IDs and names are masked the way the list masks them before comparing.
    Only the items and months the list covers are compared (in the townships it covers).

    Returns
    -------
    DataFrame
        Per person x subsidy; ``amount_fen`` = sum over months of the absolute
        difference between published and paid (fen).

    Notes
    -----
    Clause 3.1.5 (公示).
    """
    d = ctx.tables["disclosures"]
    d = d.assign(subsidy=fold_subsidy(d["subsidy"], ctx.policy)[0] if "subsidy" in d else pd.NA)
    d = in_period(d, ctx) if "period" in d else d
    if "village" not in d:
        d = d.assign(village=pd.NA)
    # names compared with spaces and minority middle dots folded (阿依·买买提 = 阿依买买提)
    d = d.assign(_pid=d["person_id"].astype("string").str.strip().fillna("") if "person_id" in d else "",
                 _name=_fold_name(d["name"] if "name" in d else pd.Series(pd.NA, index=d.index, dtype="string")))
    if "name" not in d:
        d = d.assign(name=pd.NA)
    if d.empty:
        return empty_findings()
    p = paid_rows(ctx)
    cover = d[["subsidy", "period"]].drop_duplicates()
    p = p.merge(cover, on=["subsidy", "period"], how="inner")
    if "township" in d and d["township"].notna().any():
        p = p[p["township"].isin(d["township"].dropna().unique())]
    pay = p.groupby(KEY, sort=False).agg(paid=("amount", "sum"), name=("name", "first"),
                                         township=("township", "first"), village=("village", "first")).reset_index()
    pay["name"] = _fold_name(pay["name"])
    # key every payout the way each (ID template, name template) of the list masks it
    templates = d[["_pid", "_name"]].drop_duplicates()
    # only the star positions matter: reduce each template to its shape (a few distinct
    # shapes, not one per published name), so the loop below runs a handful of times
    # a list row without an ID is keyed on the name alone (template "-"): blank never matches a full ID
    templates = templates.assign(
        t_pid=templates["_pid"].where(templates["_pid"].str.contains(r"\*"), "").str.replace(r"[^*]", "?", regex=True)
        .mask(templates["_pid"] == "", "-"),
        t_name=templates["_name"].where(templates["_name"].str.contains(r"\*"), "").str.replace(r"[^*]", "?", regex=True))
    variants = []
    for tp, tn in templates[["t_pid", "t_name"]].drop_duplicates().itertuples(index=False):
        kp = (pd.Series("", index=pay.index, dtype="string") if tp == "-" else
              _mask_like(pay["person_id"], tp) if tp else pay["person_id"].astype("string"))
        kn = _mask_like(pay["name"], tn) if tn else pay["name"]
        variants.append(pay.assign(k=(kp + "|" + kn).to_numpy()))
    pk = pd.concat(variants, ignore_index=True).drop_duplicates(["k", "subsidy", "period", "person_id"])
    # Two payees can share one masked form (same surname, same last ID digits): the list
    # cannot tell them apart, so they are compared together, as the list shows them.
    pk["paid"] = pk.groupby(["k", "subsidy", "period"], sort=False)["paid"].transform("sum")
    d = d.assign(k=(d["_pid"] + "|" + d["_name"]).to_numpy())
    dk = d.groupby(["k", "subsidy", "period"], sort=False).agg(
        pub=("amount", "sum"), d_name=("name", "first"), d_village=("village", "first")).reset_index()
    m = pk.merge(dk, on=["k", "subsidy", "period"], how="outer", indicator=True)
    matched_pay = set(m.loc[m["_merge"] == "both", "person_id"].astype(str) + "|" +
                      m.loc[m["_merge"] == "both", "subsidy"].astype(str) + "|" +
                      m.loc[m["_merge"] == "both", "period"].astype(str))
    both = m[m["_merge"] == "both"]
    diff = both[(both["pub"] != both["paid"]).fillna(False)].assign(what="金额不一致")
    pay_only = m[m["_merge"] == "left_only"]
    pay_only = pay_only[~(pay_only["person_id"].astype(str) + "|" + pay_only["subsidy"].astype(str) + "|" +
                          pay_only["period"].astype(str)).isin(matched_pay)]
    pay_only = pay_only.drop_duplicates(KEY).assign(what="实际发放但未公示", pub=0)
    pub_only = m[m["_merge"] == "right_only"].assign(what="公示但无实际发放", paid=0)
    # the subject of a published entry no payout matches: its ID as published, else its
    # name as published (never a blank subject that would fuse several people)
    pub_pid = pub_only["k"].str.split("|").str[0]
    pub_only = pub_only.assign(person_id=pub_pid.mask(pub_pid == "", pub_only["d_name"].astype("string")),
                               name=pub_only["d_name"], village=pub_only["d_village"])
    allm = pd.concat([diff, pay_only, pub_only], ignore_index=True)
    if allm.empty:
        return empty_findings()
    allm["amount_fen"] = (allm["pub"].fillna(0).astype("int64") - allm["paid"].fillna(0).astype("int64")).abs()
    allm["period"] = allm["period"].astype("period[M]")
    out = per_subject(allm[KEY + ["name", "township", "village", "amount_fen", "what", "pub", "paid"]],
                      extra={"what": ("what", lambda s: "、".join(dict.fromkeys(s))),
                             "pub": ("pub", "sum"), "paid": ("paid", "sum")})
    out = _cite_person(out, allm, p.assign(person_id=p["person_id"].astype("string")), True)

    def say(r):
        return (f"{span_text(r.period_start, r.period_end, r.months)}{r.subsidy}公示名单与实际发放不符（{r.what}）："
                f"公示合计{yuan_text(r.pub)}，实发合计{yuan_text(r.paid)}")
    return finish(out, "person", _ev(out, say))

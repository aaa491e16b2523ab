"""Template context of the report sections added by issue 12.

Each function returns a dict merged into the template context of the township
report or the district summary; :mod:`onecard.report.render` stays the one
place that writes files.

- :func:`money_section` — the three money categories and their per-rule tables;
- :func:`policy_section` — the unverified-policy warning with the unverified
  figures (``Policy.verification()``) and whether the policy file changed since the run;
- :func:`timeline_section` — the top cases' timelines (``views.timeline``);
- :func:`ring_section` — every ring at or above ``draw_min_score`` drawn, with members;
- :func:`league_section` — league table, spot-check targets, typical cases, top rings;
- :func:`appendix_section` — run details (policy files and hashes, YAML names, inputs).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from ..core.labels import SCORE_PART_ZH, SEVERITY_ZH, SUBJECT_TYPE_ZH, format_score
from ..core.log import logger
from ..views.money import run_money
from .charts import to_data_uri

__all__ = ["money_section", "policy_section", "timeline_section", "ring_section", "league_section",
           "appendix_section", "labels_section", "TOP_CASES"]

#: Township reports show the timeline of this many top cases (severity, then money).
TOP_CASES = 5


def labels_section() -> dict:
    """The one set of user labels the templates use (never retyped in a template)."""
    return {"severity_zh": SEVERITY_ZH, "subject_type_zh": SUBJECT_TYPE_ZH}


def money_section(run, township: str | None = None, rows: pd.DataFrame | None = None) -> dict:
    """``money`` (list of category dicts, see ``RunMoney.sections``) and ``money_deduplicated``."""
    m = run_money(run, township, rows=rows)
    return {"money": m.sections(), "money_deduplicated": m.deduplicated}


def _policy_file(run) -> tuple[Path | None, bool]:
    """The run's top policy file and whether it is unchanged since the run (SHA-256)."""
    files = (run.analysis.meta.get("policy") or {}).get("files") or []
    named = ((run.manifest or {}).get("parameters") or {}).get("policy")
    for f in files:
        path = Path(f.get("path", ""))
        if path.exists() and (not named or path.name == Path(named).name or len(files) == 1):
            same = hashlib.sha256(path.read_bytes()).hexdigest() == f.get("sha256")
            return path, same
    return None, False


def policy_section(run) -> dict:
    """``policy`` (meta), ``unverified`` (rows ``subsidy, from, to, yuan, document``),
    ``policy_changed`` (the file's hash differs from the run's record)."""
    policy = run.analysis.meta.get("policy", {}) or {}
    path, same = _policy_file(run)
    unverified: list[dict] = []
    if path is not None and not policy.get("verified", False):
        try:
            from ..policy import load_policy

            v = load_policy(path).verification()
            unverified = v[~v["verified"].astype(bool)].to_dict("records")
        except Exception:  # the warning stays; only the list is missing
            logger.exception("policy verification table failed")
    return {"policy": {"title": policy.get("title", ""), "verified": bool(policy.get("verified", False)),
                       "files": policy.get("files", [])},
            "unverified": unverified, "policy_changed": path is not None and not same}


def _tables(run) -> dict:
    names = ("payouts", "entitlements", "cards", "roster", "deaths", "moves", "custody")
    return {n: t for n in names if (t := run.table(n)) is not None}


def top_cases(findings: pd.DataFrame, n: int = TOP_CASES) -> pd.DataFrame:
    """The first ``n`` distinct persons of person findings, ordered by severity then money."""
    p = findings[(findings["subject_type"] == "person").fillna(False).to_numpy(bool)]
    order = p["severity"].map({"high": 0, "medium": 1, "low": 2}).fillna(3)
    p = p.assign(_o=order, _a=-pd.to_numeric(p["amount_fen"], errors="coerce").fillna(0))
    p = p.sort_values(["_o", "_a", "subject_id"], kind="stable").drop_duplicates("subject_id")
    return p.head(n).drop(columns=["_o", "_a"]).reset_index(drop=True)


def timeline_section(run, findings: pd.DataFrame, audience: str, n: int = TOP_CASES) -> dict:
    """``timelines``: per top case ``person, rules, uri`` (chart PNG), masked for public."""
    from ..views.timeline import draw_timeline, person_timeline

    cases = top_cases(findings, n)
    if cases.empty:
        return {"timelines": [], "top_cases": n}
    tables = _tables(run)
    shown = run.shown(cases, audience)
    rules = findings.groupby("subject_id")["rule_id"].agg(lambda s: "、".join(sorted(set(s))))
    out = []
    for pid, label_id, name in zip(cases["subject_id"], shown["subject_id"], shown["name"]):
        person = f"{name or '（无姓名）'}（{label_id}）"
        try:
            months, events = person_timeline(pid, run.analysis.recon, tables)
            fig = draw_timeline(months, events, title=f"{person}：各月应发与实发")
        except Exception:  # one chart must not stop the report
            logger.exception("timeline of a top case failed")
            continue
        out.append({"person": person, "rules": rules.get(pid, ""), "uri": to_data_uri(fig)})
    return {"timelines": out, "top_cases": n}


def ring_section(run, township: str, audience: str) -> dict:
    """``ring_figs`` (every ring of the township with score >= ``draw_min_score``, each with
    ``ring_id, score, uri, members``), ``ring_min_score`` and ``score_weights``
    (Chinese part -> weight, from the network's parameters)."""
    from ..graph.params import load_graph_params
    from ..views import review

    net = run.analysis.network
    params = getattr(net, "params", None) or load_graph_params()     # the weights the run used
    threshold = float(load_graph_params()["draw_min_score"])
    weights = [{"part": SCORE_PART_ZH.get(k, k), "weight": v} for k, v in params["score_weights"].items()]
    rings = review.rings_for(run, township)
    figs = []
    if not rings.empty and net is not None and hasattr(net, "graph"):
        from ..graph import draw_ring

        for rid, score in zip(rings["ring_id"], rings["score"]):
            if not score >= threshold:
                continue
            shown = run.publisher.number(rid) if audience == "public" else rid
            try:
                fig = draw_ring(net, rid, audience=audience, title_id=shown)
            except Exception:  # a drawing must not stop the report
                logger.exception("drawing ring %s failed", rid)
                continue
            members = review.ring_members_for(run, rid, audience)
            figs.append({"ring_id": shown, "score": format_score(score), "uri": to_data_uri(fig),
                         "members": members.astype(object).where(members.notna(), None).to_dict("records")})
    return {"ring_figs": figs, "ring_min_score": format_score(threshold), "score_weights": weights}


def league_section(run, audience: str, ledger=None, rows: pd.DataFrame | None = None) -> dict:
    """League table, spot-check targets with reasons, typical cases, top rings (district)."""
    from ..analysis.townships import load_township_params
    from ..views import league
    from ..views.review import rings_for

    findings = run.analysis.findings
    money = run_money(run, rows=rows)
    table = league.league_table(run.analysis.metrics, money, findings)
    params, threshold = load_township_params(((run.manifest or {}).get("parameters") or {}).get("townships_file")
                                             if _exists(run, "townships_file") else None)
    if ledger is not None:
        from ..ledger.manual import submission_status

        month = run.period[1] or pd.Timestamp.today().strftime("%Y-%m")
        status = submission_status(ledger, month, table["township"][table["township"] != league.TOTAL],
                                   few_reported_threshold=threshold, cumulative=True)
        reported = status.set_index("township")["reported_count"]
        source = f"问题台账报送记录（截至 {month}）"
    else:
        reported = params.set_index("township")["self_reported"].astype("Int64")
        source = "街道参数文件自查上报数"
    targets = league.spot_check_targets(table, reported=reported, threshold=threshold, source=source)
    typical = league.typical_cases(findings)
    shown = run.shown(typical, audience)
    if audience != "public":
        shown = shown.assign(public_no=shown["finding_id"])
    top = run.shown(league.top_rings(rings_for(run)), audience)
    return {"league": table.astype(object).where(table.notna(), None).to_dict("records"),
            "league_money": list(league.LEAGUE_MONEY.items()),
            "spot_checks": targets.astype(object).where(targets.notna(), None).to_dict("records"),
            "typical": shown.astype(object).where(shown.notna(), None).to_dict("records"),
            "top_rings": [{**r, "score": format_score(r["score"])}
                          for r in top.astype(object).where(top.notna(), None).to_dict("records")],
            **money_section(run, rows=rows)}


def _exists(run, key: str) -> bool:
    value = ((run.manifest or {}).get("parameters") or {}).get(key)
    return bool(value) and Path(value).exists()


def appendix_section(run) -> dict:
    """``appendix``: run details moved off page 1 (policy files with SHA-256, YAML names,
    input files with hashes, package versions)."""
    m = run.manifest or {}
    params = m.get("parameters") or {}
    yaml_names = {k: Path(str(params[k])).name for k in ("policy", "rules", "townships_file") if params.get(k)}
    return {"appendix": {
        "policy_files": [{"name": Path(f["path"].replace("\\", "/")).name, "sha256": f.get("sha256", "")}
                         for f in (run.analysis.meta.get("policy") or {}).get("files", [])],
        "yaml": yaml_names,
        "inputs": [{"name": Path(str(f.get("path", f.get("file", "")))).name, "sha256": f.get("sha256", "")}
                   for f in m.get("inputs", [])],
        "versions": m.get("versions", {}) or {},
    }}

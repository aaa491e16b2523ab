"""Evidence packs (移交材料): everything one finding or ring rests on, in one PDF.

``onecard pack FINDING_ID|RING_ID --run RUNDIR --out DIR --audience internal|public``
writes ``DIR/<id or 公开编号>.html`` and ``.pdf`` with

- the rule, its clause, what it flags and must not flag (from the catalogue), and
  the policy basis (document, figure, effective months, verification record);
- every source row the finding rests on (``analysis/finding_rows.parquet``: file,
  sheet, row, and the row's values from the intake tables);
- the person's timeline (due vs. paid per month and events) for person findings,
  or the ring drawing with its members for a ring;
- input file hashes, run parameters and package versions (``manifest.json``);
- the ledger history of the item when a ledger exists (passed in as a frame);
- sign-off fields (核查人, 复核人, 日期).

Internal packs carry 内部资料 on every page; public packs are masked with the one
masking implementation (:mod:`onecard.core.mask`) and name no finding id.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.errors import ParameterError
from ..core.findings import yuan
from ..core.labels import SEVERITY_ZH, SUBJECT_TYPE_ZH
from ..core.log import logger
from ..core.mask import mask_frame, mask_name, mask_value
from ..core.tables import TABLE_LABELS
from ..views.timeline import draw_timeline, person_timeline
from .charts import to_data_uri
from .render import AUDIENCES, render_html, write_pdf

__all__ = ["build_pack", "pack_rows"]

#: Intake tables a pack may cite rows of.
CITABLE = ("payouts", "roster", "entitlements", "cards", "deaths", "moves", "custody", "dibao",
           "other_benefits", "officials", "relations", "banks", "disclosures")
HIDDEN_COLUMNS = {"_flags", "township_code", "village_code"}


def _finding_rows(run, finding_ids: list[str]) -> pd.DataFrame:
    """Rows of ``analysis/finding_rows.parquet`` for these findings (empty when absent)."""
    path = Path(run.analysis_dir) / "finding_rows.parquet" if hasattr(run, "analysis_dir") else \
        Path(run.folder) / "analysis" / "finding_rows.parquet"
    if not path.exists():
        return pd.DataFrame(columns=["finding_id", "table", "_file", "_sheet", "_row", "amount_fen"])
    rows = pd.read_parquet(path)
    return rows[rows["finding_id"].isin(finding_ids)].reset_index(drop=True)


def pack_rows(run, finding_ids: list[str]) -> list[dict]:
    """The source rows behind ``finding_ids``, grouped by table, with their values.

    Returns
    -------
    list of dict
        ``{"table": label, "columns": [...], "rows": [[...], ...], "count": n}`` per
        table; every cited row appears once with ``文件, 工作表, 行`` first, then
        the row's non-empty canonical values, then the amount the finding claims
        from it (元). A cited row missing from the intake tables is still listed
        (values blank) so nothing cited is dropped.
    """
    cited = _finding_rows(run, finding_ids)
    out = []
    for table, part in cited.groupby("table", sort=False):
        src = run.table(table) if table in CITABLE else None
        keys = part[["_file", "_sheet", "_row", "amount_fen"]].copy()
        keys["_row"] = pd.to_numeric(keys["_row"], errors="coerce").astype("Int64")
        keys = keys.groupby(["_file", "_sheet", "_row"], dropna=False, sort=True)["amount_fen"].sum().reset_index()
        if src is not None and not src.empty:
            s = src.copy()
            s["_row"] = pd.to_numeric(s["_row"], errors="coerce").astype("Int64")
            s["_sheet"] = s["_sheet"].astype("string").fillna("")
            keys["_sheet"] = keys["_sheet"].astype("string").fillna("")
            merged = keys.merge(s.drop_duplicates(["_file", "_sheet", "_row"]), on=["_file", "_sheet", "_row"],
                                how="left")
        else:
            merged = keys
        value_cols = [c for c in merged.columns if c not in {"_file", "_sheet", "_row", "amount_fen"}
                      and c not in HIDDEN_COLUMNS and merged[c].notna().any()]
        shown = merged[["_file", "_sheet", "_row"] + value_cols].astype("string").fillna("")
        shown["涉及金额（元）"] = [yuan(v) if pd.notna(v) else "" for v in merged["amount_fen"]]
        out.append({"table": TABLE_LABELS.get(table, table), "count": len(shown),
                    "columns": ["文件", "工作表", "行"] + value_cols + ["涉及金额（元）"],
                    "rows": shown.to_numpy().tolist(), "frame": shown})
    return out


def _target(run, target_id: str) -> tuple[pd.DataFrame, str]:
    f = run.analysis.findings
    hit = f[(f["finding_id"] == target_id).fillna(False).to_numpy(bool)]
    if not hit.empty:
        return hit, "finding"
    ring = f[((f["subject_type"] == "ring") & (f["subject_id"] == target_id)).fillna(False).to_numpy(bool)]
    if not ring.empty:
        return ring, "ring"
    raise ParameterError(f"运行 {run.folder} 中没有编号为 {target_id} 的疑点或关联圈；"
                         "请使用 findings.csv 的 finding_id 或关联圈编号（R 开头）。")


def _policy_basis(run, findings: pd.DataFrame, policy) -> list[dict]:
    """Standards in force for the findings' subsidies and months (policy file rows)."""
    if policy is None:
        return []
    try:
        v = policy.verification()
    except Exception:  # a policy file that changed since the run: say so, don't fail the pack
        logger.exception("policy verification table failed")
        return []
    subs = set(findings["subsidy"].dropna().astype(str))
    lo, hi = findings["period_start"].dropna().min(), findings["period_end"].dropna().max()
    if subs:
        v = v[v["subsidy"].isin(subs)]
    if isinstance(lo, str) and isinstance(hi, str):
        v = v[(v["from"] <= hi) & ((v["to"] == "") | (v["to"] >= lo))]
    return v.assign(verified=v["verified"].map({True: "已核对", False: "未核对"})).to_dict("records")


def build_pack(run, target_id: str, out_dir: str | Path, audience: str, *, policy=None,
               history: pd.DataFrame | None = None, public_number: str | None = None) -> dict:
    """Write the evidence pack of one finding or ring.

    Parameters
    ----------
    run : onecard.views.review.Run
        The finished run (``load_run``).
    target_id : str
        A ``finding_id`` or a ring id (``R`` + 12 hex).
    out_dir : path
        Folder for ``<name>.html`` and ``<name>.pdf`` (created).
    audience : {"internal", "public"}
        Required: internal packs show identities and say 内部资料 on every page;
        public packs are masked and never show a finding or ring id.
    policy : onecard.policy.Policy, optional
        The run's policy, for the policy basis.
    history : DataFrame, optional
        The ledger history of the item (``at, by, from_status, to_status, note, fields``).
    public_number : str, optional
        The item's 公开编号 (public packs are named by it; default ``证据材料``).

    Returns
    -------
    dict
        ``{"html": Path, "pdf": Path, "rows": int}`` (rows = cited source rows).

    Raises
    ------
    ParameterError
        Unknown id or audience.
    """
    if audience not in AUDIENCES:
        raise ParameterError("证据包须指定 --audience internal（内部核查版）或 public（公开版）。")
    findings, kind = _target(run, target_id)
    ids = findings["finding_id"].astype(str).tolist()
    tables = {n: run.table(n) for n in CITABLE}
    sources = pack_rows(run, ids)
    figures = []
    if kind == "finding" and findings["subject_type"].iloc[0] == "person":
        pid = str(findings["subject_id"].iloc[0])
        months, events = person_timeline(pid, run.analysis.recon, tables)
        name = str(findings["name"].iloc[0] or "")
        shown_name = mask_name(pd.Series([name], dtype="string"))[0] if audience == "public" else name
        shown_id = mask_value("person", pid) if audience == "public" else pid
        figures.append({"title": f"{shown_name}（{shown_id}）逐月应发与实发及事件",
                        "uri": to_data_uri(draw_timeline(months, events))})
    members = []
    if kind == "ring":
        from ..graph import draw_ring

        network = run.analysis.network
        if network is not None and hasattr(network, "graph"):
            try:
                figures.append({"title": "关联圈关系图", "uri": to_data_uri(draw_ring(network, target_id, audience))})
            except Exception:
                logger.exception("ring drawing failed for %s", target_id)
        m = run.analysis.network_table("ring_members")
        if not m.empty:
            m = m[m["ring_id"] == target_id]
            members = (mask_frame(m) if audience == "public" else m).astype(object).where(
                m.notna(), None).to_dict("records")
    shown = findings
    if audience == "public":  # no finding or ring id (hashes of identifiers) in public files
        shown = mask_frame(findings)
        shown = shown.assign(finding_id="", subject_id=shown["subject_id"].where(
            shown["subject_type"] != "ring", public_number or ""))
    if audience == "public":
        for s in sources:
            s["rows"] = mask_frame(s["frame"].rename(columns={})).to_numpy().tolist()
    manifest = run.manifest or {}
    from ..rules.catalogue import CATALOGUE, _ensure_loaded

    _ensure_loaded()
    rules = []
    for rid in dict.fromkeys(findings["rule_id"].astype(str)):
        r = CATALOGUE.get(rid)
        if r is not None:
            rules.append({"rule_id": rid, "clause": r.clause, "title": r.title_zh,
                          "description": r.description_zh, "must_not": r.must_not_flag_zh})
    context = {
        "audience": audience, "audience_label": AUDIENCES[audience], "internal": audience == "internal",
        "kind": kind, "target": target_id if audience == "internal" else (public_number or ""),
        "findings": shown.astype(object).where(shown.notna(), None).to_dict("records"),
        "severity_zh": SEVERITY_ZH, "subject_type_zh": SUBJECT_TYPE_ZH, "rules": rules,
        "policy_rows": _policy_basis(run, findings, policy), "policy": manifest.get("policy", {}),
        "sources": [{k: v for k, v in s.items() if k != "frame"} for s in sources],
        "figures": figures, "members": members,
        "history": [] if history is None or audience == "public" else
        history.astype(object).where(history.notna(), None).to_dict("records"),
        "inputs": [] if audience == "public" else manifest.get("inputs", []),
        "parameters": manifest.get("parameters", {}) if audience == "internal" else {},
        "versions": manifest.get("versions", {}), "run_id": manifest.get("run_id", ""),
        "period": manifest.get("parameters", {}).get("period", ""),
    }
    html = render_html("pack.html.j2", context)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = target_id if audience == "internal" else (public_number or "证据材料")
    paths = {"html": out_dir / f"{stem}.html", "pdf": out_dir / f"{stem}.pdf"}
    paths["html"].write_text(html, encoding="utf-8")
    write_pdf(html, paths["pdf"])
    paths["rows"] = sum(s["count"] for s in sources)
    return paths

"""Views of a finished run for notebooks, reports and the explorer.

Every function takes a :class:`Run` (``load_run(run_dir)``) and returns a frame,
a dict of numbers or a matplotlib Figure: notebooks call one function per cell.
Money is integer fen in frames (``*_fen`` columns); labels are Chinese.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pandas as pd

from ..analysis.district import Analysis, load_analysis
from ..core.findings import yuan
from ..core.tables import TABLE_LABELS

__all__ = ["Run", "load_run", "township_overview", "data_quality", "findings_for",
           "findings_by_rule", "monthly_payments", "recon_summary", "metrics_display",
           "data_quality_by_table", "damaged_rows", "ring_members_for", "export_township_graphs", "rings_for", "not_checked", "SEVERITY_ZH",
           "REASON_ZH"]

from ..core.labels import SEVERITY_ZH  # noqa: E402  (one definition, re-exported)

#: Chinese labels of quarantine reasons and intake flags, for the data-quality section.
REASON_ZH = {
    "id_precision_lost": "身份证号被Excel存为数字、末位丢失", "id_missing": "缺少身份证号",
    "blank_row": "空行", "total_row": "合计/小计行", "title_or_footer": "标题或落款行",
    "unparseable_amount": "金额无法识别", "unparseable_period": "年月无法识别",
    "duplicate_row": "完全重复的行", "account_precision_lost": "卡号被Excel存为数字、末位丢失",
}


@dataclass
class Run:
    """A finished (or partly finished) run, loaded lazily.

    ``folder`` is the run folder (reports, manifest); ``work`` the folder holding
    ``intake/`` and ``analysis/`` - the same folder for internal runs, the private
    work folder (``--work``, default ``RUNDIR.internal``) for public ones.
    """

    folder: Path
    analysis: Analysis
    manifest: dict = field(default_factory=dict)
    work: Path | None = None

    def __post_init__(self):
        self.work = Path(self.work) if self.work is not None else Path(self.folder)

    @property
    def work_folder(self) -> Path:
        """The run's working folder (``intake/``, ``analysis/``): ``folder`` unless the run
        kept its working data apart (``--work``, public runs)."""
        return self.work

    @cached_property
    def publisher(self):
        """The run's ``onecard.core.mask.Publisher``: its people's names (from every
        intake table) and its 公开编号 (``analysis/public_ids.csv``, else recomputed)."""
        from ..core.mask import Publisher, people_names
        from ..core.tables import TABLES

        tables = {n: t for n in TABLES if (t := self.table(n)) is not None}
        path = self.work / "analysis" / "public_ids.csv"
        numbers = (pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
                   if path.exists() else self.analysis.public_numbers())
        return Publisher(people_names(tables), numbers)

    def shown(self, frame: pd.DataFrame, audience: str = "internal") -> pd.DataFrame:
        """``frame`` as the audience may see it: unchanged for ``internal``, for
        ``public`` masked by :attr:`publisher` (names, IDs, accounts, phones, 公开编号)."""
        return self.publisher.frame(frame) if audience == "public" else frame

    @cached_property
    def intake_summary(self) -> dict:
        path = self.work / "intake" / "intake.json"
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    @cached_property
    def quarantine(self) -> pd.DataFrame:
        path = self.work / "intake" / "quarantine.csv"
        if not path.exists():
            return pd.DataFrame(columns=["file", "sheet", "row", "table", "reason", "detail", "raw"])
        return pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)

    def table(self, name: str) -> pd.DataFrame | None:
        """A canonical intake table of the run, or None when it was not supplied."""
        path = self.work / "intake" / f"{name}.parquet"
        return pd.read_parquet(path) if path.exists() else None

    @cached_property
    def payouts(self) -> pd.DataFrame:
        return self.table("payouts")

    @property
    def period(self) -> tuple[str, str]:
        return tuple(self.analysis.meta.get("period", ["", ""]))


def load_run(run_dir: str | Path, with_network: bool = True,
             work_dir: str | Path | None = None) -> Run:
    """Load a run written by ``onecard run``.

    Nothing executable is loaded (the network is rebuilt from parquet tables; a
    ``network.pkl`` is ignored).

    Parameters
    ----------
    run_dir : path
        The run folder (``manifest.json``, reports).
    work_dir : path, optional
        Its working folder (``intake/``, ``analysis/``). Default: the ``folders.work``
        the manifest records when that folder exists, else ``run_dir`` (both layouts:
        working data inside the run folder, or beside it with ``--work``).

    Raises
    ------
    RunError
        When the work folder has no ``analysis/`` folder (the run did not get that far).
    """
    from ..core.errors import RunError

    folder = Path(run_dir)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    if not work_dir:
        recorded = (manifest.get("folders") or {}).get("work")
        work_dir = recorded if recorded and Path(recorded).is_dir() else folder
    work = Path(work_dir)
    if not (work / "analysis" / "findings.parquet").exists():
        raise RunError(f"运行目录 {folder} 的工作数据 {work} 中没有分析结果（analysis/findings.parquet），"
                       "请先运行 onecard run。")
    return Run(folder, load_analysis(work / "analysis", with_network=with_network), manifest, work)


def _in_township(frame: pd.DataFrame, township: str | None) -> pd.DataFrame:
    if township is None or frame is None or "township" not in frame.columns:
        return frame
    return frame[frame["township"] == township]


def findings_for(run: Run, township: str | None = None) -> pd.DataFrame:
    """Findings of one township (all when ``township`` is None), highest severity and money first."""
    f = _in_township(run.analysis.findings, township).copy()
    order = f["severity"].map({"high": 0, "medium": 1, "low": 2}).fillna(3)
    return (f.assign(_o=order, _a=-f["amount_fen"].fillna(0))
             .sort_values(["_o", "_a", "rule_id", "subject_id"], kind="stable")
             .drop(columns=["_o", "_a"]).reset_index(drop=True))


def findings_by_rule(run: Run, township: str | None = None) -> pd.DataFrame:
    """Per rule: ``rule_id, clause, title_zh, checked, findings, amount_fen`` for the township.

    Rules that were not checked keep ``checked=False`` and their missing tables, so a
    report never shows "0" for a check that did not run.
    """
    status = run.analysis.rule_status[["rule_id", "clause", "title_zh", "checked", "missing_tables"]]
    f = _in_township(run.analysis.findings, township)
    counts = f.groupby("rule_id").agg(findings=("finding_id", "size"),
                                      amount_fen=("amount_fen", "sum")).reset_index()
    out = status.merge(counts, on="rule_id", how="left")
    out["findings"] = out["findings"].fillna(0).astype(int)
    out["amount_fen"] = out["amount_fen"].fillna(0).astype("int64")
    return out.sort_values(["clause", "rule_id"], kind="stable").reset_index(drop=True)


def not_checked(run: Run) -> pd.DataFrame:
    """Rules that did not run: ``rule_id, title_zh, reason`` (Chinese: 缺少 X 表 / 运行出错)."""
    s = run.analysis.rule_status
    s = s[~s["checked"].astype(bool)]
    reason = s["missing_tables"].map(
        lambda t: "未核查：缺少" + "、".join(TABLE_LABELS.get(x, x) for x in str(t).split(";") if x)
        if t else "")
    err = s["error"].map(lambda e: f"运行出错：{e}" if e else "")
    return pd.DataFrame({"rule_id": s["rule_id"], "title_zh": s["title_zh"],
                         "reason": reason.where(reason != "", err)}).reset_index(drop=True)


def township_overview(run: Run, township: str | None = None) -> dict:
    """Key numbers: beneficiaries, payout rows, money paid, findings, money at issue.

    Returns a dict with ``beneficiaries`` (distinct person_id paid successfully),
    ``payout_rows``, ``paid_fen``, ``findings``, ``high``, ``amount_fen``,
    ``rings``, ``per_1000`` (findings per 1,000 beneficiaries).
    """
    p = _in_township(run.payouts, township)
    ok = p[p["status"].fillna("paid") == "paid"] if "status" in p.columns else p
    f = _in_township(run.analysis.findings, township)
    rings = rings_for(run, township)
    n = int(ok["person_id"].nunique())
    return {
        "beneficiaries": n, "payout_rows": int(len(p)),
        "paid_fen": int(ok["amount"].fillna(0).sum()),
        "findings": int(len(f)), "high": int((f["severity"] == "high").sum()),
        "amount_fen": int(f["amount_fen"].fillna(0).sum()), "rings": int(len(rings)),
        "per_1000": round(1000 * len(f) / n, 1) if n else 0.0,
    }


def monthly_payments(run: Run, township: str | None = None) -> pd.DataFrame:
    """Successful payments per month and subsidy: ``period, subsidy, persons, paid_fen``.

    Read from the reconciliation, so subsidy names are the policy's canonical names
    (aliases such as 护理补贴 folded) and back-pay counts for the month it is for.
    Falls back to the raw payouts when the reconciliation did not run.
    """
    rec = run.analysis.recon
    if rec is not None and not rec.empty:
        r = _in_township(rec, township)
        r = r[r["paid_fen"].fillna(0) > 0]
        g = (r.assign(period=r["period"].astype("string"))
              .groupby(["period", "subsidy"]).agg(persons=("person_id", "nunique"),
                                                   paid_fen=("paid_fen", "sum")).reset_index())
    else:
        p = _in_township(run.payouts, township)
        if "status" in p.columns:
            p = p[p["status"].fillna("paid") == "paid"]
        month = p["period"] if "period" in p.columns else p["paid_month"]
        g = (p.assign(period=month.astype("string"))
              .groupby(["period", "subsidy"], dropna=True)
              .agg(persons=("person_id", "nunique"), paid_fen=("amount", "sum")).reset_index())
    g["paid_fen"] = g["paid_fen"].astype("int64")
    return g.sort_values(["period", "subsidy"]).reset_index(drop=True)


def rings_for(run: Run, township: str | None = None) -> pd.DataFrame:
    """Rings of the township (all when None), best-ranked first."""
    rings = run.analysis.network_table("rings")
    if rings.empty:
        return rings
    rings = _in_township(rings, township)
    key = "score" if "score" in rings.columns else rings.columns[0]
    return rings.sort_values(key, ascending=False, kind="stable").reset_index(drop=True)


def data_quality(run: Run, township: str | None = None) -> pd.DataFrame:
    """Per input file and sheet: ``文件, 工作表, 表, 读入行, 接收行, 隔离行, 隔离原因``.

    Built from ``intake.json``; the reasons are Chinese (``REASON_ZH``).
    """
    rows = []
    for f in run.intake_summary.get("files", []):
        reasons = "；".join(f"{REASON_ZH.get(k, k)} {v}行"
                           for k, v in (f.get("quarantined_by_reason") or {}).items() if v)
        rows.append({"文件": f.get("file"), "工作表": f.get("sheet") or "",
                     "表": TABLE_LABELS.get(f.get("table"), f.get("table")),
                     "读入行": f.get("rows_read"), "接收行": f.get("rows_accepted"),
                     "隔离行": f.get("rows_quarantined"), "隔离原因": reasons})
    return pd.DataFrame(rows)


def money(fen) -> str:
    """Integer fen as ``1,234.56元``."""
    return yuan(fen) + "元"


def recon_summary(run: Run, township: str | None = None) -> pd.DataFrame:
    """Reconciliation per month and subsidy, in yuan for reading.

    Columns (Chinese): ``所属期, 补贴项目, 应享人数, 应发金额(元), 实发人数, 实发金额(元),
    差额(元), 失败或退回笔数``. "应发" is the standard for entitled months that no stop
    event ended; "实发" is money paid successfully for that month (back-pay included).
    Empty when the reconciliation did not run.
    """
    rec = run.analysis.recon
    if rec is None or rec.empty:
        return pd.DataFrame()
    rec = _in_township(rec, township)
    due_mask = rec["entitled"].fillna(False).astype(bool) & ~rec["stopped"].fillna(False).astype(bool)
    frame = pd.DataFrame({
        "period": rec["period"].astype("string"), "subsidy": rec["subsidy"],
        "due_person": due_mask.astype(int),
        "due_fen": rec["standard_fen"].fillna(0).where(due_mask, 0).astype("int64"),
        "paid_person": (rec["paid_fen"].fillna(0) > 0).astype(int),
        "paid_fen": rec["paid_fen"].fillna(0).astype("int64"),
        "failed_n": rec["failed_n"].fillna(0).astype("int64"),
    })
    g = frame.groupby(["period", "subsidy"]).sum().reset_index()
    return pd.DataFrame({
        "所属期": g["period"], "补贴项目": g["subsidy"], "应享人数": g["due_person"],
        "应发金额(元)": g["due_fen"] / 100, "实发人数": g["paid_person"],
        "实发金额(元)": g["paid_fen"] / 100, "差额(元)": (g["paid_fen"] - g["due_fen"]) / 100,
        "失败或退回笔数": g["failed_n"],
    })


ROLE_ZH = {"beneficiary": "补贴对象", "holder": "持卡人", "official": "公职人员/村干部",
           "guardian": "监护人", "relative": "亲属"}


def ring_members_for(run: Run, ring_id: str, audience: str = "internal") -> pd.DataFrame:
    """Members of one ring: ``姓名, 身份证号, 街道, 村(社区), 户, 角色, 标记`` (masked for public)."""
    m = run.analysis.network_table("ring_members")
    if m.empty:
        return m
    m = run.shown(m[m["ring_id"] == ring_id], audience)
    return pd.DataFrame({"姓名": m["name"], "身份证号": m["person_id"], "街道": m["township"],
                         "村(社区)": m["village"], "户": m["household"],
                         "角色": m["role"].map(ROLE_ZH).fillna(m["role"]),
                         "标记": m["flags"]}).reset_index(drop=True)


def export_township_graphs(run: Run, township: str, folder: Path,
                           audience: str = "internal") -> list[Path]:
    """Write the township's graph and each of its rings as GraphML and GEXF (Gephi) and as
    i2 import tables (:mod:`onecard.graph.i2`).

    Files: ``folder/<township>.graphml|.gexf|_entities.csv|_links.csv`` and
    ``folder/rings/<ring_id>.graphml|.gexf|_entities.csv|_links.csv``.
    Returns the written paths; empty when the network was not loaded.
    """
    net = run.analysis.network
    if net is None or not hasattr(net, "graph"):
        return []
    persons = getattr(net, "persons", None)
    if persons is not None and "township" in persons.columns and not (persons["township"] == township).any():
        return []  # nobody of this township in the network (e.g. a township without data): no graph files
    from ..graph import export_graph

    folder = Path(folder)
    (folder / "rings").mkdir(parents=True, exist_ok=True)
    from ..graph.i2 import export_i2

    publisher = run.publisher if audience == "public" else None
    written = export_i2(net, folder, township, township=township, audience=audience, publisher=publisher)
    for rid in rings_for(run, township).get("ring_id", pd.Series(dtype=str)):
        shown = publisher.number(rid) if publisher else rid
        written += export_i2(net, folder / "rings", shown, ring_id=rid, audience=audience, publisher=publisher)
    for fmt in ("graphml", "gexf"):
        written.append(export_graph(net, folder / f"{township}.{fmt}", township=township,
                                    fmt=fmt, audience=audience, publisher=publisher))
        for rid in rings_for(run, township).get("ring_id", pd.Series(dtype=str)):
            shown = publisher.number(rid) if publisher else rid
            written.append(export_graph(net, folder / "rings" / f"{shown}.{fmt}", ring_id=rid,
                                        fmt=fmt, audience=audience, publisher=publisher))
    return written


DAMAGE_REASONS = ("id_precision_lost", "account_precision_lost")


def damaged_rows(run: Run) -> pd.DataFrame:
    """Rows whose ID or card number Excel stored as a number (digits lost): ``文件, 工作表, 行,
    表, 原因, 原始值``. They are data-quality problems needing a clean re-export, never
    findings (REAL_WORLD_CASES B01)."""
    q = run.quarantine
    q = q[q["reason"].isin(DAMAGE_REASONS)]
    return pd.DataFrame({"文件": q["file"], "工作表": q["sheet"], "行": q["row"],
                         "表": q["table"].map(lambda t: TABLE_LABELS.get(t, t)),
                         "原因": q["reason"].map(REASON_ZH), "原始值": q["detail"]}).reset_index(drop=True)


def ledger_path(run: Run) -> Path | None:
    """The run's problem ledger (manifest ``ledger.path``), or None when the run recorded none."""
    path = (run.manifest or {}).get("ledger", {}).get("path")
    return Path(path) if path else None


def findings_with_status(run: Run, township: str | None = None) -> pd.DataFrame:
    """:func:`findings_for` plus ``status``: each finding's ledger status (待核实 without a ledger)."""
    from ..ledger.runview import statuses

    f = findings_for(run, township)
    return f.assign(status=statuses(ledger_path(run), f["finding_id"]))


def since_last_run(run: Run, township: str | None = None) -> dict:
    """New / still open / closed / no longer found since the previous run, from the ledger
    (``onecard.ledger.runview.since_last_run``); ``in_ledger`` False when this run is not in it."""
    from ..ledger.runview import since_last_run as since

    return since(ledger_path(run), (run.manifest or {}).get("run_id") or run.analysis.meta.get("run_id", ""),
                 township)


def ledger_by_township(run: Run) -> pd.DataFrame:
    """Per township 疑点（待核实/核实中）, 问题（属实起的问题）, 已销号, 本次未再发现, Chinese headers;
    empty without a ledger."""
    from ..ledger.runview import township_counts

    names = [t["township"] for t in (run.manifest or {}).get("townships", [])] or None
    t = township_counts(ledger_path(run), names)
    return t.rename(columns={"township": "街道（乡镇）", "suspects": "疑点（待核实/核实中）",
                             "problems": "问题（属实及以后）", "closed": "已整改销号/移交办结",
                             "not_found": "本次未再发现（待核实/核实中）"})


def submissions_for(run: Run) -> pd.DataFrame | None:
    """The ledger's township submissions for the run period (cumulative to its last month,
    ``few_reported_threshold`` of the run), or None without a ledger or without any submission."""
    from ..ledger.manual import submission_status
    from ..ledger.runview import reading_ledger

    m = run.analysis.metrics
    end = (run.period or ("", ""))[1]
    if m is None or m.empty or not end:
        return None
    threshold = int((run.manifest or {}).get("parameters", {}).get("few_reported_threshold", 1))
    with reading_ledger(ledger_path(run)) as led:
        if led is None or not led.con.execute("SELECT 1 FROM submissions LIMIT 1").fetchone():
            return None
        return submission_status(led, str(end)[:7], m["街道（乡镇）"].tolist(),
                                 few_reported_threshold=threshold, cumulative=True)


def metrics_display(run: Run) -> pd.DataFrame:
    """Township metrics formatted for reading: rates as percentages, money in yuan,
    yes/no columns as 是/空. Empty when the metrics stage did not run. When the run's
    ledger holds township submissions, 自查上报问题数/零报送/抽查重点 come from them
    (with 报送情况: 已报送 / 少报送 / 零报送 / 未报送)."""
    from ..analysis.metrics import apply_submissions

    m = run.analysis.metrics
    if m is None or m.empty:
        return pd.DataFrame()
    subs = submissions_for(run)
    out = apply_submissions(m, subs) if subs is not None else m.copy()
    if "享受率" in out:
        out["享受率"] = out["享受率"].map(lambda v: "" if pd.isna(v) else f"{100 * float(v):.1f}%")
    if "疑点金额（分）" in out:
        at = out.columns.get_loc("疑点金额（分）")
        out.insert(at, "疑点金额（元）", out.pop("疑点金额（分）").map(lambda v: "" if pd.isna(v) else yuan(v)))
    for col in ("每千名受益人疑点数", "每千名受益人疑点金额（元）"):
        if col in out:
            out[col] = out[col].map(lambda v: "" if pd.isna(v) else f"{float(v):,.1f}")
    for col in ("零报送", "抽查重点"):
        if col in out:
            out[col] = out[col].map(lambda v: "是" if v is True or v == 1 else "")
    if "自查上报问题数" in out:
        out["自查上报问题数"] = out["自查上报问题数"].map(lambda v: "未报" if pd.isna(v) else str(int(v)))
    return out.astype(object).where(out.notna(), "")


def data_quality_by_table(run: Run) -> pd.DataFrame:
    """Intake totals per table (all files): ``表, 文件数, 读入行, 接收行, 隔离行, 隔离原因``.

    The per-file list is in the district summary and ``intake/intake.json``; township
    reports show this short form.
    """
    rows: dict[str, dict] = {}
    for f in run.intake_summary.get("files", []):
        t = TABLE_LABELS.get(f.get("table"), f.get("table"))
        r = rows.setdefault(t, {"表": t, "文件": set(), "读入行": 0, "接收行": 0, "隔离行": 0, "_r": {}})
        r["文件"].add(f.get("file"))
        r["读入行"] += f.get("rows_read") or 0
        r["接收行"] += f.get("rows_accepted") or 0
        r["隔离行"] += f.get("rows_quarantined") or 0
        for k, v in (f.get("quarantined_by_reason") or {}).items():
            r["_r"][k] = r["_r"].get(k, 0) + v
    out = []
    for r in rows.values():
        out.append({"表": r["表"], "文件数": len(r["文件"]), "读入行": r["读入行"], "接收行": r["接收行"],
                    "隔离行": r["隔离行"],
                    "隔离原因": "；".join(f"{REASON_ZH.get(k, k)} {v}行" for k, v in r["_r"].items() if v)})
    return pd.DataFrame(out, columns=["表", "文件数", "读入行", "接收行", "隔离行", "隔离原因"])

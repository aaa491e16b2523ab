"""The stages of a run, in order: intake, analysis, ledger, township reports, summary.

A stage is a name, the Chinese line the console shows, and a function of the
:class:`RunState`. :data:`STAGES` is the list the runner walks; the manifest
records each stage completed (``stages``), so ``--resume`` skips them. Adding a
stage (the ledger, the explorer) is one function and one line in :data:`STAGES`.

Where things go (``RunParameters.out`` / ``.work``)::

    out/   findings.csv/.xlsx, <township>/review.html/.pdf/findings.*, district_summary.html/.pdf
    work/  intake/, analysis/, executed notebooks (the same folder as out for an
           internal run without --work)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pandas as pd

from ..analysis.parameters import RunParameters
from ..core.mask import people_names
from ..core.errors import ParameterError, RunError, WorkbenchError
from ..core.log import logger
from ..core.reference import townships
from .manifest import Manifest
from .notebooks import execute_notebook

__all__ = ["Stage", "RunState", "STAGES", "TOWNSHIP_OUTPUTS", "safe_folder_name", "townships_with_data"]

TOWNSHIP_OUTPUTS = ("review.html", "review.pdf", "findings.csv", "findings.xlsx")


@dataclass
class RunState:
    """What the stages share: parameters, manifest, and what earlier stages produced."""

    params: RunParameters
    manifest: Manifest
    run_id: str
    say: Callable[[str], None] = lambda _msg: None
    progress: bool = True
    notebooks: dict = field(default_factory=dict)  # {"township": Path, "summary": Path}
    intake: object = None
    analysis: object = None

    def notebook_out(self, *parts: str):
        """Where an executed notebook goes: the work folder (a public run keeps them private)."""
        path = self.params.work.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def notebook_parameters(self) -> dict:
        return {"run_dir": str(self.params.out.resolve()), "work_dir": str(self.params.work.resolve())}


@dataclass(frozen=True)
class Stage:
    """One named step of a run."""

    name: str
    label: str
    #: Does the work; returns False when the stage must run again on ``--resume``
    #: (some township failed), anything else marks it completed.
    run: Callable[[RunState], bool | None]


def safe_folder_name(name: str) -> str:
    """A folder name for a township: surrounding whitespace and path characters removed.

    Raises
    ------
    ParameterError
        When nothing usable is left.
    """
    cleaned = re.sub(r'[\\/:*?"<>|\s]+', "_", str(name).strip()).strip("._")
    if not cleaned:
        raise ParameterError(f"街道名称“{name}”无法用作文件夹名。")
    return cleaned


@contextlib.contextmanager
def _stdout_to_log():
    """Capture file descriptor 1 (third-party readers print English warnings there, e.g.
    xlrd's ``WARNING *** file size``, through a ``sys.stdout`` bound at import time)
    and send it to the debug log instead of the console."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        yield
        return
    sys.stdout.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), fd)
        try:
            yield
        finally:
            sys.stdout.flush()
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            chatter = sink.read().decode("utf-8", "replace").strip()
            if chatter:
                logger.debug("third-party output during intake: %s", chatter[:2000])


def intake_stage(state: RunState) -> None:
    from ..intake import intake_path

    p, m = state.params, state.manifest
    with _stdout_to_log():
        intake = intake_path(p.data, require_payouts=False)
    intake.write(p.work / "intake")
    m["intake"] = intake.summary
    m.names = people_names(intake.tables)  # masked in a public run's manifest copy
    m["unreadable"] = list(intake.summary.get("unreadable", []))
    m["skipped"] = list(intake.summary.get("skipped", []))
    if "payouts" not in intake.tables or intake.tables["payouts"].empty:
        raise RunError(f"数据目录 {p.data} 中没有可读取的一卡通发放明细（payouts），无法核查。"
                       f"已读取的表：{'、'.join(sorted(intake.tables)) or '无'}；"
                       f"详见 {p.work / 'intake' / 'intake.json'}。")
    state.intake = intake


def analysis_stage(state: RunState) -> None:
    from ..analysis.district import analyse
    from ..core.mask import Publisher, people_names
    from ..report.render import export_findings

    p, m = state.params, state.manifest
    intake = state.intake
    if intake is None:  # resumed after intake: read what intake wrote
        from ..intake import load_intake
        intake = state.intake = load_intake(p.work / "intake")
        m.names = people_names(intake.tables)
    result = analyse(intake.tables, p.policy, p.period, params=p.rules, run_id=state.run_id,
                     quarantine=intake.quarantine, self_reports=p.self_reports, graph=p.graph,
                     data_dir=p.data)
    result.save(p.work / "analysis")
    m["timings"].update({f"analysis_{k}": v for k, v in result.meta.get("timings", {}).items()})
    publisher = Publisher(people_names(intake.tables), result.public_numbers())
    m["exports"] = export_findings(result.findings, p.out, p.audience, publisher=publisher)
    m["findings"] = {"total": int(len(result.findings)),
                     "by_rule": result.findings["rule_id"].value_counts().sort_index().to_dict()}
    m["rules"] = result.rule_status.to_dict("records")
    names = list(p.townships) or townships_with_data(intake.tables, result.findings)
    folders = {n: safe_folder_name(n) for n in names}
    if len(set(folders.values())) != len(folders):
        raise RunError("街道名称清理后出现重名文件夹：" + "、".join(names))
    m["townships"] = [{"township": n, "folder": folders[n], "status": "pending", "error": ""}
                      for n in names]
    state.analysis = result


def _delivered(payouts: pd.DataFrame | None, period) -> tuple[list[str], tuple[str, str] | None]:
    """Townships the delivery has payouts for, and the part of the review period its
    payouts cover (``None`` when none): only these may set "本次未再发现"."""
    if payouts is None or payouts.empty or "township" not in payouts or "period" not in payouts:
        return [], None
    months = pd.PeriodIndex(payouts["period"].dropna().astype(str), freq="M")
    if not len(months):
        return [], None
    start, end = max(period[0], months.min()), min(period[1], months.max())
    if start > end:
        return [], None
    return sorted(set(payouts["township"].dropna().astype(str))), (str(start), str(end))


def ledger_stage(state: RunState) -> None:
    """Bring the run's findings into the problem ledger (问题台账, issue 11).

    Internal run: upsert the findings (source rows from ``analysis/finding_rows.parquet``,
    households from the roster), import the townships file's self-reported counts as
    the period's last month's submissions. Public run: the ledger is only read, later,
    by the reports (a missing ledger is fine: every finding is 待核实). Records
    ``manifest["ledger"]``: ``path`` (absolute), ``readonly``, ``created``, ``counts``.
    A run id already in the ledger (``--resume`` after a crash) is not upserted twice.
    """
    from ..analysis.parameters import default_ledger
    from ..intake import load_intake
    from ..ledger import open_ledger, upsert_run
    from ..ledger.manual import import_submissions

    p, m = state.params, state.manifest
    path = Path(p.ledger or default_ledger()).resolve()
    if p.audience == "public":
        m["ledger"] = {"path": str(path), "readonly": True, "created": False, "exists": path.is_file(),
                       "counts": {}}
        if not path.is_file():
            state.say(f"公开版运行：未找到问题台账 {path}，各疑点状态按“待核实”显示（公开版不写台账）。")
        return
    result = state.analysis
    if result is None:
        from ..analysis.district import load_analysis
        result = state.analysis = load_analysis(p.work / "analysis", with_network=False)
    tables = (state.intake if state.intake is not None else load_intake(p.work / "intake")).tables
    ledger = open_ledger(path)
    try:
        if ledger.created:
            state.say(f"新建问题台账：{path}")
        done = ledger.con.execute("SELECT counts FROM runs WHERE run_id = ?", (state.run_id,)).fetchone()
        if done:
            counts = json.loads(done[0])
            logger.info("run %s already in ledger %s; not upserted again", state.run_id, path)
        else:
            towns, covered = _delivered(tables.get("payouts"), p.period)
            rows_path = p.work / "analysis" / "finding_rows.parquet"
            roster = tables.get("roster")
            households = None
            if roster is not None and {"person_id", "household_id"} <= set(roster.columns):
                hh = roster.dropna(subset=["person_id", "household_id"]).drop_duplicates("person_id")
                households = pd.Series(hh["household_id"].astype(str).to_numpy(), index=hh["person_id"].astype(str))
            counts = upsert_run(ledger, result.findings, run_id=state.run_id,
                                period=covered or (str(p.period[0]), str(p.period[1])),
                                rule_status=result.rule_status, townships_with_data=towns if covered else [],
                                finding_rows=pd.read_parquet(rows_path) if rows_path.exists() else None,
                                households=households)
        imported = 0
        reports = p.township_table
        if "self_reported" in reports and reports["self_reported"].notna().any():
            imported = import_submissions(ledger, reports, str(p.period[1]),
                                          by=f"街道参数文件 {p.townships_path.name}")
    finally:
        ledger.close()
    m["ledger"] = {"path": str(path), "readonly": False, "created": bool(ledger.created),
                   "counts": counts, "submissions_imported": imported}
    state.say("问题台账：新发现 {new} 条，再次发现 {seen_again} 条，本次未再发现 {not_found_again} 条".format(**counts)
              + (f"，证据变化 {counts['evidence_changed']} 条" if counts.get("evidence_changed") else "")
              + (f"，不属实后证据变化重新待核实 {counts['reopened']} 条" if counts.get("reopened") else "") + "。")


def townships_stage(state: RunState) -> None:
    from tqdm.auto import tqdm

    p, m = state.params, state.manifest
    todo = [t for t in m["townships"] if t["status"] != "ok"]
    state.say(f"生成 {len(todo)} 个街道(乡镇)的核查报告…")
    with ThreadPoolExecutor(max_workers=p.workers) as pool:
        futures = {}
        for entry in todo:
            folder = p.out / entry["folder"]
            folder.mkdir(parents=True, exist_ok=True)
            entry.update(status="running", error="")
            nb = {**state.notebook_parameters(), "township": entry["township"],
                  "audience": p.audience, "out_dir": str(folder.resolve())}
            futures[pool.submit(execute_notebook, state.notebooks["township"],
                                state.notebook_out(entry["folder"], "township_review.ipynb"), nb,
                                cell_timeout_s=p.cell_timeout_s,
                                wall_clock_s=p.notebook_time_limit_s)] = entry
        m.write()
        bar = tqdm(total=len(futures), desc="街道报告", unit="个", disable=not state.progress)
        for fut in as_completed(futures):
            entry = futures[fut]
            try:
                fut.result()
                missing = [f for f in TOWNSHIP_OUTPUTS if not (p.out / entry["folder"] / f).exists()]
                if missing:
                    raise RunError("笔记本已执行但缺少输出：" + "、".join(missing))
                entry["status"] = "ok"
            except WorkbenchError as exc:
                entry.update(status="failed", error=str(exc))
                logger.info("township %s failed: %s", entry["township"], exc)  # the CLI says it in Chinese
            m.write()
            bar.update(1)
        bar.close()
    return all(t["status"] == "ok" for t in m["townships"])


def summary_stage(state: RunState) -> None:
    p, m = state.params, state.manifest
    try:
        execute_notebook(state.notebooks["summary"], state.notebook_out("district_summary.ipynb"),
                         state.notebook_parameters(), cell_timeout_s=p.cell_timeout_s,
                         wall_clock_s=p.notebook_time_limit_s)
        m["district_summary"] = {"status": "ok", "error": ""}
    except WorkbenchError as exc:
        m["district_summary"] = {"status": "failed", "error": str(exc)}
    return m["district_summary"]["status"] == "ok"


def townships_with_data(tables: dict, findings: pd.DataFrame) -> list[str]:
    """Official townships that appear in payouts, roster or findings, in code order."""
    seen = set(findings["township"].dropna().astype(str)) if "township" in findings else set()
    for name in ("payouts", "roster"):
        t = tables.get(name)
        if t is not None and "township" in t.columns:
            seen |= set(t["township"].dropna().astype(str))
    return [n for n in townships()["name"] if n in seen]


#: The run, in order. The console numbers them ``i/len(STAGES)``.
STAGES: list[Stage] = [
    Stage("intake", "读入数据（识别表、映射表头、隔离问题行）…", intake_stage),
    Stage("analysis", "全区分析（逐人逐月对账、规则、关系网络）…", analysis_stage),
    Stage("ledger", "问题台账（登记疑点、读取核实状态）…", ledger_stage),
    Stage("townships", "街道(乡镇)核查报告…", townships_stage),
    Stage("district_summary", "生成全区汇总…", summary_stage),
]

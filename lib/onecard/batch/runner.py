"""The batch runner behind ``onecard run``: parameters once, then the stages in order.

Run folder (``DATA_CONTRACT.md``, "Run outputs")::

    RUNDIR/manifest.json            run id, status, parameters, folders, policy and input
                                    hashes, intake summary, unreadable/skipped inputs,
                                    package versions, timings, stages, township status
    RUNDIR/findings.csv / .xlsx     every finding of the district
    RUNDIR/<township>/              review.html, review.pdf, findings.csv, findings.xlsx
                                    (+ township_review.ipynb, executed, in the work folder)
    RUNDIR/district_summary.html / .pdf (+ .ipynb in the work folder)
    WORK/intake/                    <table>.parquet, quarantine.csv, intake.json
    WORK/analysis/                  the saved district analysis (``onecard.analysis.district``)

``WORK`` is ``RUNDIR`` itself for an internal run without ``--work`` (today's
layout), and ``RUNDIR.internal`` (a sibling, never inside RUNDIR) for a public run,
so that a public RUNDIR holds only publishable files.

The analysis sees the whole district; ``townships`` only limits which townships
get notebooks and reports. Notebooks run in parallel through papermill with the
``python3`` kernel of this interpreter; one failing township does not stop the
others, its executed notebook is kept and the run ends non-zero listing it
(REAL_WORLD_CASES B25-B27, B31). The stages are :data:`onecard.batch.stages.STAGES`.

A run folder is locked while a run writes it (:mod:`onecard.batch.lock`); a run
killed on the way reads ``interrupted`` and :func:`resume` finishes it with the same
run id and findings, after checking that no input changed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.parameters import RunParameters
from ..analysis.townships import resolve_townships  # noqa: F401  (public here since issue 2)
from ..core.errors import ParameterError, RunError
from ..core.resources import packaged, parameters_dir
from .lock import RunLock
from .manifest import (FAILED, FINISHED, INTERRUPTED, RUNNING, Manifest, input_files,
                       read_manifest, sha256_file, versions)  # noqa: F401
from .notebooks import check_parameters_cell, prefer_own_kernel, quiet_third_party
from .stages import STAGES, RunState, safe_folder_name, townships_with_data  # noqa: F401

__all__ = ["run", "run_parameters", "resume", "dry_run", "RunResult", "resolve_townships",
           "safe_folder_name", "STAGES"]

NOTEBOOKS = packaged("notebooks")
TOWNSHIP_NOTEBOOK = NOTEBOOKS / "township_review.ipynb"
SUMMARY_NOTEBOOK = NOTEBOOKS / "district_summary.ipynb"


@dataclass
class RunResult:
    """What ``run`` did: the folder, the manifest, the townships that failed and the
    input files that could not be read."""

    folder: Path
    manifest: dict
    failed: list[str] = field(default_factory=list)
    unreadable: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def run(data: str | Path, out: str | Path, township_names: list[str] | None = None,
        period: str | None = None, policy_path: str | Path | None = None,
        workers: int | None = None, audience: str | None = None,
        rules_path: str | Path | None = None, progress: bool = True,
        townships_path: str | Path | None = None, say=None, work: str | Path | None = None,
        graph_path: str | Path | None = None) -> RunResult:
    """Run the district review end to end (see module docstring for the folders).

    Parameters
    ----------
    data : path
        The delivery folder (or one file); read-only, recorded by hash.
    out : path
        The run folder; must not already hold a run (``manifest.json``), nor be
        inside the data folder (or contain it).
    township_names : list of str, optional
        Townships (names, codes or aliases) to report on; default all with data.
    period : str, optional
        ``YYYY-MM:YYYY-MM``; default ``period`` of ``parameters/run.yaml``.
    policy_path, rules_path, townships_path, graph_path : path, optional
        Parameters files; default the office copy or the packaged one.
    workers : int, optional
        Notebooks executed in parallel (default ``run.yaml``).
    audience : {"internal", "public"}, optional
        ``public`` masks IDs, accounts and phones in reports and exports, and keeps
        the working data out of the run folder.
    work : path, optional
        Working folder (intake, analysis, executed notebooks); see module docstring.
    say : callable, optional
        Receives one Chinese line per stage (the CLI prints them).

    Raises
    ------
    WorkbenchError
        For user mistakes (missing folder, bad township, bad period, no payouts,
        a folder locked by another run or already holding a run).
    """
    params = RunParameters.load(data=data, out=out, period=period, policy=policy_path,
                                rules=rules_path, townships_file=townships_path,
                                graph=graph_path, townships=township_names, workers=workers,
                                audience=audience, work=work)
    return run_parameters(params, say=say, progress=progress)


def _prepare_folders(params: RunParameters) -> None:
    for folder in {params.out, params.work}:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ParameterError(f"无法创建目录 {folder}：{exc.strerror or exc}") from exc


def _notebooks() -> dict:
    for nb in (TOWNSHIP_NOTEBOOK, SUMMARY_NOTEBOOK):
        check_parameters_cell(nb)
    return {"township": TOWNSHIP_NOTEBOOK, "summary": SUMMARY_NOTEBOOK}


def run_parameters(params: RunParameters, say=None, progress: bool = True) -> RunResult:
    """Run with parameters already loaded (see :func:`run`)."""
    tell = say or (lambda _msg: None)
    prefer_own_kernel()
    quiet_third_party()
    notebooks = _notebooks()
    _prepare_folders(params)
    out = params.out
    before = read_manifest(out)  # its status as seen before we hold the lock
    with RunLock(out, tell):
        existing = read_manifest(out)
        if existing is not None:
            status = (before or existing).get("status")
            hint = (f"上次运行未完成（{status}），可用 onecard run --resume {out} 续跑；"
                    if status in (INTERRUPTED, FAILED) else "")
            raise ParameterError(f"运行目录 {out} 中已有一次运行的结果；{hint}每次新的运行请使用新的目录。")
        tell(f"开始核查：数据 {params.data} → 运行目录 {out}"
             + (f"（工作数据：{params.work}）" if params.separate_work else ""))
        manifest = Manifest(out)
        with manifest.timed("hash_inputs"):
            inputs = input_files(params.data)
        run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + hashlib.sha1(
            "".join(f["sha256"] for f in inputs).encode()).hexdigest()[:8]
        manifest.data.update({
            "run_id": run_id, "status": RUNNING,
            "started": dt.datetime.now().isoformat(timespec="seconds"),
            "parameters": {**params.record(), "parameters_dir": str(parameters_dir() or "")},
            "rule_params": params.rules,
            "folders": {"run": str(out.resolve()), "work": str(params.work.resolve())},
            "policy": {"title": params.policy.title, "verified": bool(params.policy.verified),
                       "files": [{"path": str(p), "sha256": h} for p, h in params.policy.files]},
            "inputs": inputs, "versions": versions(), "timings": manifest["timings"],
            "stages": []})
        manifest.write()
        state = RunState(params, manifest, run_id, say=tell, progress=progress, notebooks=notebooks)
        return _walk(state)


def _walk(state: RunState) -> RunResult:
    """Run every stage not yet completed, in order; the manifest is written after each."""
    m = state.manifest
    done = set(m["stages"])
    try:
        for i, stage in enumerate(STAGES, 1):
            if stage.name in done:
                continue
            state.say(f"{i}/{len(STAGES)} {stage.label}")
            with m.timed(stage.name):
                complete = stage.run(state)
            if complete is not False:
                m["stages"].append(stage.name)
            m.write()
    except KeyboardInterrupt:
        m.finish(INTERRUPTED)
        raise
    except BaseException as exc:
        m["error"] = str(exc)
        m.finish(FAILED)
        raise
    failed = [t["township"] for t in m.get("townships", []) if t["status"] != "ok"]
    if m.get("district_summary", {}).get("status") != "ok":
        failed.append("全区汇总")
    m["failed"] = failed
    m.data.pop("error", None)
    m.finish(FAILED if failed else FINISHED)
    return RunResult(state.params.out, m.data, failed, list(m.get("unreadable", [])))


def resume(run_dir: str | Path, say=None, progress: bool = True) -> RunResult:
    """Finish an interrupted (or partly failed) run: same run id, same findings.

    Data and parameters come from the run's manifest; the stages completed are
    skipped, townships already ``ok`` are kept.

    Raises
    ------
    ParameterError
        Not a run folder, a run already finished, or a run still running.
    RunError
        When an input file (or a policy file) changed since the run started.
    """
    tell = say or (lambda _msg: None)
    folder = Path(run_dir)
    recorded = read_manifest(folder)
    if recorded is None:
        raise ParameterError(f"{folder} 不是运行目录（没有 manifest.json），无法续跑。")
    if recorded.get("status") == FINISHED:
        raise ParameterError(f"运行 {recorded.get('run_id')} 已经完成，无需续跑。")
    prefer_own_kernel()
    quiet_third_party()
    notebooks = _notebooks()
    last_status = recorded.get("status")
    with RunLock(folder, tell):
        recorded = read_manifest(folder)
        params = RunParameters.from_record(recorded["parameters"])
        changed = _changed_inputs(recorded, params)
        if changed:
            raise RunError("自上次运行以来以下输入文件已改变，不能续跑（请用新的运行目录重新运行）："
                           + "、".join(changed))
        _prepare_folders(params)
        tell(f"续跑 {recorded['run_id']}（上次状态：{last_status}）：{folder}")
        recorded["status"] = RUNNING
        recorded.setdefault("resumed", []).append(dt.datetime.now().isoformat(timespec="seconds"))
        manifest = Manifest(folder, recorded)
        manifest.write()
        state = RunState(params, manifest, recorded["run_id"], say=tell, progress=progress,
                         notebooks=notebooks)
        return _walk(state)


def _changed_inputs(recorded: dict, params: RunParameters) -> list[str]:
    """Input and policy files whose content differs from the manifest's hashes."""
    before = {f["file"]: f["sha256"] for f in recorded.get("inputs", [])}
    now = {f["file"]: f["sha256"] for f in input_files(params.data)}
    changed = sorted(f for f in before.keys() | now.keys() if before.get(f) != now.get(f))
    for entry in recorded.get("policy", {}).get("files", []):
        path = Path(entry["path"])
        if not path.is_file() or sha256_file(path) != entry["sha256"]:
            changed.append(f"{path}（政策文件）")
    return changed


def dry_run(params: RunParameters) -> dict:
    """What a run with ``params`` would read and report on; writes nothing.

    Uses the intake's own recognition (every file is read in memory, nothing is written).

    Returns
    -------
    dict
        ``files``: ``[{"file", "sheet", "table", "rows"}]`` recognised tables;
        ``unreadable`` / ``skipped``: ``[{"file", "reason"}]``;
        ``townships``: official names that would get reports.
    """
    from ..intake import intake_path
    from ..core.findings import empty_findings
    from .stages import _stdout_to_log

    quiet_third_party()
    _notebooks()
    with _stdout_to_log():
        intake = intake_path(params.data, require_payouts=False)
    s = intake.summary
    files = [{"file": e["file"], "sheet": e.get("sheet", ""), "table": e["table"],
              "rows": e.get("rows_read")} for e in s.get("files", [])]
    names = list(params.townships) or townships_with_data(intake.tables, empty_findings())
    return {"files": files, "unreadable": list(s.get("unreadable", [])),
            "skipped": list(s.get("skipped", [])), "townships": names,
            "has_payouts": "payouts" in intake.tables and not intake.tables["payouts"].empty}

"""The batch runner behind ``onecard run``: intake, district analysis, township notebooks.

Run folder (``DATA_CONTRACT.md``, "Run outputs")::

    RUNDIR/manifest.json            run id, parameters, policy and input hashes, intake
                                    summary, package versions, timings, township status
    RUNDIR/findings.csv / .xlsx     every finding of the district
    RUNDIR/<township>/              review.html, review.pdf, findings.csv, findings.xlsx,
                                    township_review.ipynb (executed)
    RUNDIR/district_summary.html / .pdf / .ipynb
    RUNDIR/intake/                  <table>.parquet, quarantine.csv, intake.json
    RUNDIR/analysis/                the saved district analysis (``onecard.analysis.district``)

The analysis sees the whole district; ``townships`` only limits which
townships get notebooks and reports. Notebooks run in parallel through
papermill with the ``python3`` kernel of this interpreter; one failing
township does not stop the others, its executed notebook is kept and the run
ends non-zero listing it (REAL_WORLD_CASES B25-B27, B31).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import pandas as pd

from ..analysis.district import analyse, parse_period
from ..core.errors import ParameterError, RunError, WorkbenchError
from ..core.log import logger
from .notebooks import prefer_own_kernel, check_parameters_cell, execute_notebook
from ..core.reference import township_aliases, townships
from ..core.resources import packaged

NOTEBOOKS = packaged("notebooks")
TOWNSHIP_NOTEBOOK = NOTEBOOKS / "township_review.ipynb"
SUMMARY_NOTEBOOK = NOTEBOOKS / "district_summary.ipynb"
PACKAGES = ["pandas", "numpy", "pyarrow", "networkx", "matplotlib", "papermill", "jinja2",
            "weasyprint", "openpyxl", "xlrd", "python-calamine", "python-stdnum", "pyyaml"]


@dataclass
class RunResult:
    """What ``run`` did: the folder, the manifest and the townships that failed."""

    folder: Path
    manifest: dict
    failed: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


def resolve_townships(names: list[str] | None) -> list[str]:
    """Official township names for user input (official name, code, alias or short form).

    Raises
    ------
    ParameterError
        For a name that matches no township; the message lists the valid names.
    """
    official = townships()
    if not names:
        return []
    lookup = {}
    for code, name in zip(official["code"], official["name"]):
        for key in (code, name, name.removesuffix("街道"), name.removesuffix("乡"),
                    name.removesuffix("街道") + "街"):
            lookup.setdefault(key, name)
    for alias, name in zip(township_aliases()["alias"], township_aliases()["official_name"]):
        lookup.setdefault(alias, name)
    out, bad = [], []
    for raw in names:
        key = str(raw).strip()
        if key in lookup:
            if lookup[key] not in out:
                out.append(lookup[key])
        else:
            bad.append(key)
    if bad:
        raise ParameterError(
            f"无法识别的街道(乡镇)：{'、'.join(bad)}。可用名称或代码：" +
            "、".join(f"{n}({c})" for c, n in zip(official["code"], official["name"])))
    return out


def safe_folder_name(name: str) -> str:
    """A folder name for a township: surrounding whitespace and path characters removed."""
    cleaned = re.sub(r'[\\/:*?"<>|\s]+', "_", str(name).strip()).strip("._")
    if not cleaned:
        raise ParameterError(f"街道名称“{name}”无法用作文件夹名。")
    return cleaned


def sha256_file(path: Path) -> str:
    """SHA-256 hex digest of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _versions() -> dict:
    out = {}
    for pkg in PACKAGES:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def _input_files(data: Path) -> list[dict]:
    files = [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())
    base = data.parent if data.is_file() else data
    return [{"file": str(p.relative_to(base)), "bytes": p.stat().st_size, "sha256": sha256_file(p)}
            for p in files]


def run(data: str | Path, out: str | Path, township_names: list[str] | None = None,
        period: str | None = None, policy_path: str | Path | None = None, workers: int = 2,
        audience: str = "internal", rules_path: str | Path | None = None,
        progress: bool = True, townships_path: str | Path | None = None,
        say=None) -> RunResult:
    """Run the district review end to end (see module docstring for the folder).

    Parameters
    ----------
    data : path
        The delivery folder (or one file); read-only, recorded by hash.
    out : path
        The run folder; must not already hold a run (``manifest.json``).
    township_names : list of str, optional
        Townships (names, codes or aliases) to report on; default all with data.
    period : str, optional
        ``YYYY-MM:YYYY-MM``, default ``2020-01:2021-12``.
    policy_path : path, optional
        Top policy file (default ``parameters/policy/hubei.yaml``).
    workers : int
        Notebooks executed in parallel.
    audience : {"internal", "public"}
        ``public`` masks IDs, accounts and phones in reports and exports.
    say : callable, optional
        Receives one Chinese line per stage (the CLI prints them).
    townships_path : path, optional
        Township parameters (default ``parameters/townships/caidian.yaml``): the
        self-reported problem counts used to name spot-check targets.

    Raises
    ------
    WorkbenchError
        For user mistakes (missing folder, bad township, bad period, no payouts).
    """
    from tqdm.auto import tqdm

    from ..intake import intake_path
    from ..policy import load_policy
    from ..report.render import export_findings
    from ..rules import load_rule_params
    from ..analysis.townships import load_township_params

    t_start = time.perf_counter()
    timings = {}
    prefer_own_kernel()
    data, out = Path(data), Path(out)
    if not data.exists():
        raise ParameterError(f"数据目录不存在：{data}")
    if audience not in ("internal", "public"):
        raise ParameterError("audience 只能是 internal（内部核查版）或 public（公开版）。")
    if (out / "manifest.json").exists():
        raise ParameterError(f"运行目录 {out} 中已有一次运行的结果；每次运行请使用新的目录。")
    if workers < 1:
        raise ParameterError("--workers 至少为 1。")
    selected = resolve_townships(township_names)
    start, end = parse_period(period)
    policy = load_policy(policy_path)
    params = load_rule_params(rules_path)
    township_params, _ = load_township_params(townships_path)
    for nb in (TOWNSHIP_NOTEBOOK, SUMMARY_NOTEBOOK):
        check_parameters_cell(nb)
    out.mkdir(parents=True, exist_ok=True)
    tell = say or (lambda _msg: None)
    tell(f"开始核查：数据 {data} → 运行目录 {out}")
    tell("1/4 读入数据（识别表、映射表头、隔离问题行）…")

    t0 = time.perf_counter()
    inputs = _input_files(data)
    timings["hash_inputs"] = round(time.perf_counter() - t0, 2)
    run_id = dt.datetime.now().strftime("%Y%m%dT%H%M%S") + "-" + hashlib.sha1(
        "".join(f["sha256"] for f in inputs).encode()).hexdigest()[:8]
    manifest = {
        "run_id": run_id, "started": dt.datetime.now().isoformat(timespec="seconds"),
        "parameters": {"data": str(data.resolve()), "out": str(out.resolve()),
                       "townships": selected, "period": f"{start}:{end}",
                       "policy": str(policy_path or "parameters/policy/hubei.yaml"),
                       "workers": workers, "audience": audience,
                       "rules": str(rules_path or "parameters/rules.yaml"),
                       "townships_file": str(townships_path or "parameters/townships/caidian.yaml")},
        "policy": {"title": policy.title, "verified": bool(policy.verified),
                   "files": [{"path": str(p), "sha256": h} for p, h in policy.files]},
        "inputs": inputs, "versions": _versions(), "timings": timings,
    }

    def write_manifest():
        manifest["timings"]["total"] = round(time.perf_counter() - t_start, 2)
        (out / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2,
                                                      default=str), encoding="utf-8")

    t0 = time.perf_counter()
    intake = intake_path(data)
    intake.write(out / "intake")
    manifest["intake"] = intake.summary
    timings["intake"] = round(time.perf_counter() - t0, 2)
    if "payouts" not in intake.tables or intake.tables["payouts"].empty:
        write_manifest()
        raise RunError(f"数据目录 {data} 中没有可读取的一卡通发放明细（payouts），无法核查。"
                       f"已读取的表：{'、'.join(sorted(intake.tables)) or '无'}；详见 {out / 'intake' / 'intake.json'}。")

    t0 = time.perf_counter()
    tell("2/4 全区分析（逐人逐月对账、规则、关系网络）…")
    reported = township_params.dropna(subset=["self_reported"])
    result = analyse(intake.tables, policy, (start, end), params=params, run_id=run_id,
                     quarantine=intake.quarantine,
                     self_reports=dict(zip(reported["township"], reported["self_reported"].astype(int))))
    result.save(out / "analysis")
    timings["analysis"] = round(time.perf_counter() - t0, 2)
    timings.update({f"analysis_{k}": v for k, v in result.meta.get("timings", {}).items()})
    export_findings(result.findings, out, audience, publisher=_publisher(intake.tables, result))
    manifest["findings"] = {"total": int(len(result.findings)),
                            "by_rule": result.findings["rule_id"].value_counts().sort_index().to_dict()}
    manifest["rules"] = result.rule_status.to_dict("records")

    names = selected or _townships_with_data(intake.tables, result.findings)
    folders = {n: safe_folder_name(n) for n in names}
    if len(set(folders.values())) != len(folders):
        raise RunError("街道名称清理后出现重名文件夹：" + "、".join(names))
    manifest["townships"] = [{"township": n, "folder": folders[n], "status": "pending", "error": ""}
                             for n in names]
    write_manifest()

    t0 = time.perf_counter()
    tell(f"3/4 生成 {len(names)} 个街道(乡镇)的核查报告…")
    status = {t["township"]: t for t in manifest["townships"]}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {}
        for name in names:
            folder = out / folders[name]
            folder.mkdir(parents=True, exist_ok=True)
            params_nb = {"run_dir": str(out.resolve()), "township": name, "audience": audience,
                         "out_dir": str(folder.resolve())}
            futures[pool.submit(execute_notebook, TOWNSHIP_NOTEBOOK,
                                folder / "township_review.ipynb", params_nb)] = name
        bar = tqdm(total=len(futures), desc="街道报告", unit="个", disable=not progress)
        for fut in as_completed(futures):
            name = futures[fut]
            try:
                fut.result()
                missing = [f for f in ("review.html", "review.pdf", "findings.csv", "findings.xlsx")
                           if not (out / folders[name] / f).exists()]
                if missing:
                    raise RunError("笔记本已执行但缺少输出：" + "、".join(missing))
                status[name]["status"] = "ok"
            except WorkbenchError as exc:
                status[name].update(status="failed", error=str(exc))
                logger.error("township %s failed: %s", name, exc)
            bar.update(1)
        bar.close()
    timings["townships"] = round(time.perf_counter() - t0, 2)
    failed = [n for n in names if status[n]["status"] != "ok"]
    write_manifest()

    t0 = time.perf_counter()
    tell("4/4 生成全区汇总…")
    try:
        execute_notebook(SUMMARY_NOTEBOOK, out / "district_summary.ipynb",
                         {"run_dir": str(out.resolve())})
        manifest["district_summary"] = {"status": "ok", "error": ""}
    except WorkbenchError as exc:
        manifest["district_summary"] = {"status": "failed", "error": str(exc)}
        failed.append("全区汇总")
    timings["district_summary"] = round(time.perf_counter() - t0, 2)
    manifest["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    manifest["failed"] = failed
    write_manifest()
    return RunResult(out, manifest, failed)


def _publisher(tables: dict, result):
    """The run's masking for public files: its people's names and 公开编号 (core.mask)."""
    from ..core.mask import Publisher, people_names
    return Publisher(people_names(tables), result.public_numbers())


def _townships_with_data(tables: dict, findings: pd.DataFrame) -> list[str]:
    """Official townships that appear in payouts, roster or findings, in code order."""
    seen = set(findings["township"].dropna().astype(str))
    for name in ("payouts", "roster"):
        t = tables.get(name)
        if t is not None and "township" in t.columns:
            seen |= set(t["township"].dropna().astype(str))
    official = townships()
    return [n for n in official["name"] if n in seen]

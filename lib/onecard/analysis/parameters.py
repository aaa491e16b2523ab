"""One frozen, validated set of run parameters, built once per run.

:meth:`RunParameters.load` reads every parameters source of a run — the run
defaults (``parameters/run.yaml``), the policy (``parameters/policy/*.yaml``), the
rule parameters (``rules.yaml``), the network parameters (``graph.yaml``), the
township parameters (``townships/*.yaml``), the paths and the review period — and
collects *every* problem before raising one :class:`~onecard.core.errors.ParameterError`
(Chinese, one line per problem, naming the file and the key).

Each default lives in one place: the packaged ``parameters/*.yaml`` files
(overridable file by file through ``ONECARD_PARAMETERS`` / ``--parameters``, see
:mod:`onecard.core.resources`). Nothing else in the code repeats them.

Period bounds (issue 10, "Resources"): months from 2000-01 to December of next
year, at most ``max_period_months`` months (``run.yaml``); checked before intake.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.errors import ParameterError, WorkbenchError
from ..core.resources import parameter_path, read_yaml_mapping

__all__ = ["RunParameters", "parse_period", "run_defaults", "RUN_YAML", "AUDIENCES",
           "EARLIEST_MONTH", "check_out_folder"]

#: The run defaults file, relative to the parameters folder.
RUN_YAML = "run.yaml"
AUDIENCES = ("internal", "public")
#: Earliest month a review period may start (no one-card payouts exist before).
EARLIEST_MONTH = pd.Period("2000-01", freq="M")
_RUN_KEYS = {"period": str, "max_period_months": int, "workers": int, "audience": str,
             "notebook_time_limit_minutes": (int, float), "cell_timeout_seconds": (int, float)}
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


def run_defaults(path: str | Path | None = None) -> dict:
    """The run defaults (``parameters/run.yaml``, or ``path``), validated.

    Returns
    -------
    dict
        ``period`` (str), ``max_period_months`` (int), ``workers`` (int), ``audience``,
        ``notebook_time_limit_minutes``, ``cell_timeout_seconds``.

    Raises
    ------
    ParameterError
        Unreadable file, unknown key, wrong type or a non-positive number (all listed).
    """
    p = Path(path) if path else parameter_path(RUN_YAML)
    data = read_yaml_mapping(p, "运行参数文件")
    problems = []
    for key, value in data.items():
        kind = _RUN_KEYS.get(key)
        if kind is None:
            problems.append(f"运行参数文件 {p.name} 中有无法识别的键 {key}；可用的键："
                            + "、".join(_RUN_KEYS))
        elif isinstance(value, bool) or not isinstance(value, kind):
            problems.append(f"运行参数文件 {p.name} 中 {key} 的类型不对，实际为 {value!r}。")
        elif kind is not str and value <= 0:
            problems.append(f"运行参数文件 {p.name} 中 {key} 应为正数，实际为 {value!r}。")
    missing = set(_RUN_KEYS) - set(data)
    if missing:
        problems.append(f"运行参数文件 {p.name} 缺少键：{'、'.join(sorted(missing))}")
    if problems:
        raise ParameterError("\n".join(problems))
    return data


def parse_period(text: str | None, max_months: int | None = None,
                 today: dt.date | None = None) -> tuple[pd.Period, pd.Period]:
    """Parse a review period ``YYYY-MM:YYYY-MM`` (inclusive) into two monthly Periods.

    Parameters
    ----------
    text : str or None
        ``None`` or empty: the ``period`` of ``parameters/run.yaml``.
    max_months : int, optional
        Longest period accepted; default ``max_period_months`` of ``run.yaml``.
    today : date, optional
        For the upper bound (December of next year); default today.

    Raises
    ------
    ParameterError
        When the text is not two ``YYYY-MM`` months, the start is after the end,
        a month is before 2000-01 or after December of next year, or the period is
        longer than ``max_months`` (issue 10, "Resources").
    """
    defaults = None
    if not text or max_months is None:
        defaults = run_defaults()
    text = text or defaults["period"]
    max_months = max_months if max_months is not None else defaults["max_period_months"]
    parts = str(text).split(":")
    example = "应为 起始年月:结束年月，例如 2020-01:2021-12"
    if len(parts) != 2 or not all(_MONTH.match(p) for p in parts):
        raise ParameterError(f"核查期间“{text}”格式不正确，{example}。")
    try:
        start, end = (pd.Period(f"{m.group(1)}-{int(m.group(2)):02d}", freq="M")
                      for m in (_MONTH.match(p) for p in parts))
    except (ValueError, TypeError) as exc:
        raise ParameterError(f"核查期间“{text}”格式不正确，{example}。") from exc
    if start > end:
        raise ParameterError(f"核查期间“{text}”的起始年月晚于结束年月。")
    latest = pd.Period(f"{(today or dt.date.today()).year + 1}-12", freq="M")
    if start < EARLIEST_MONTH or end > latest:
        raise ParameterError(f"核查期间“{text}”超出范围：年月应在 {EARLIEST_MONTH} 至 {latest} 之间。")
    months = (end - start).n + 1
    if months > max_months:
        raise ParameterError(f"核查期间“{text}”共 {months} 个月，超过上限 {max_months} 个月"
                             f"（运行参数 max_period_months）。")
    return start, end


def _nearest_existing(path: Path) -> Path:
    p = path
    while not p.exists() and p != p.parent:
        p = p.parent
    return p


def _inside(a: Path, b: Path) -> bool:
    """True when ``a`` is ``b`` or inside it (both resolved)."""
    return a == b or b in a.parents


def check_out_folder(out: Path, data: Path | None, label: str = "运行目录") -> list[str]:
    """Problems with an output folder: inside/around the data, unwritable, a file.

    Writes nothing. Returns Chinese lines (empty when the folder is usable).
    """
    problems = []
    target = out.resolve()
    if data is not None and data.exists():
        src = data.resolve()
        src_dir = src if src.is_dir() else src.parent
        if _inside(target, src_dir) or (src.is_dir() and _inside(src_dir, target)):
            problems.append(f"{label} {out} 与数据目录 {data} 相同或相互包含；输入数据只读，"
                            "请把运行目录放在数据目录之外。")
    if target.exists() and not target.is_dir():
        problems.append(f"{label} {out} 已存在且不是文件夹。")
        return problems
    base = _nearest_existing(target)
    if not base.is_dir():
        problems.append(f"{label} {out} 无法创建：{base} 是一个文件，不是文件夹。")
    elif not os.access(base, os.W_OK | os.X_OK) or str(base).startswith(("/proc", "/sys")):
        problems.append(f"{label} {out} 无法写入（{base} 没有写权限）。")
    return problems


@dataclass(frozen=True, eq=False)
class RunParameters:
    """Everything a run reads besides the data, validated once.

    Attributes
    ----------
    data, out, work : Path
        Delivery (read-only), run folder, working folder (``intake/``, ``analysis/``,
        executed notebooks). ``work`` equals ``out`` for an internal run without
        ``--work``; it defaults to ``RUNDIR.internal`` for a public run.
    period : (Period, Period)
        Review period, monthly, inclusive.
    policy : onecard.policy.Policy
    policy_path, rules_path, graph_path, townships_path : Path
        The files actually read (office copy or packaged default).
    rules : dict
        ``{rule_id: {param: value}}``, defaults merged.
    graph : dict
        Network parameters (``onecard.graph.load_graph_params``).
    township_table : DataFrame
        ``township, code, self_reported (Int64), contact``.
    few_reported_threshold : int
        Townships self-reporting fewer problems are spot-check targets (少报送, ledger).
    townships : tuple of str
        Official names to report on; empty = every township with data.
    workers : int
    audience : {"internal", "public"}
    max_period_months : int
    notebook_time_limit_s, cell_timeout_s : float
        Wall-clock limit of one notebook, and of one cell (seconds).
    """

    data: Path
    out: Path
    work: Path
    period: tuple[pd.Period, pd.Period]
    policy: Any
    policy_path: Path
    rules: dict
    rules_path: Path
    graph: dict
    graph_path: Path
    township_table: pd.DataFrame
    townships_path: Path
    few_reported_threshold: int
    townships: tuple[str, ...] = ()
    workers: int = 0
    audience: str = ""
    max_period_months: int = 0
    notebook_time_limit_s: float = 0.0
    cell_timeout_s: float = 0.0

    @property
    def period_text(self) -> str:
        return f"{self.period[0]}:{self.period[1]}"

    @property
    def separate_work(self) -> bool:
        """True when working data goes to a folder other than the run folder."""
        return self.work.resolve() != self.out.resolve()

    @property
    def self_reports(self) -> dict[str, int]:
        """``{township: self-reported problems}`` for townships that reported."""
        t = self.township_table.dropna(subset=["self_reported"])
        return dict(zip(t["township"], t["self_reported"].astype(int)))

    def record(self) -> dict:
        """The parameters as written to ``manifest.json`` (``parameters``); read back by
        :meth:`load` on ``--resume``."""
        return {"data": str(self.data.resolve()), "out": str(self.out.resolve()),
                "work": str(self.work.resolve()), "townships": list(self.townships),
                "period": self.period_text, "policy": str(self.policy_path),
                "workers": self.workers, "audience": self.audience,
                "rules": str(self.rules_path), "graph": str(self.graph_path),
                "townships_file": str(self.townships_path),
                "few_reported_threshold": self.few_reported_threshold,
                "max_period_months": self.max_period_months,
                "notebook_time_limit_s": self.notebook_time_limit_s,
                "cell_timeout_s": self.cell_timeout_s}

    @classmethod
    def load(cls, data: str | Path, out: str | Path, period: str | None = None,
             policy: str | Path | None = None, rules: str | Path | None = None,
             townships_file: str | Path | None = None, graph: str | Path | None = None,
             townships: list[str] | None = None, workers: int | None = None,
             audience: str | None = None, work: str | Path | None = None,
             run_file: str | Path | None = None) -> "RunParameters":
        """Read and validate every parameter of a run; writes nothing.

        ``None`` means the default of the parameters files (office folder, else packaged).

        Raises
        ------
        ParameterError
            Listing every problem found, one per line (file and key named): missing
            data folder, output folder inside the data or unwritable, bad period,
            invalid policy / rules / graph / township file, unknown township, bad
            workers or audience.
        """
        from ..graph import load_graph_params
        from ..policy import load_policy
        from ..rules import load_rule_params
        from .townships import load_township_params, resolve_townships

        problems: list[str] = []

        def attempt(fn, *args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except WorkbenchError as exc:
                problems.extend(line for line in str(exc).splitlines() if line.strip())
                return None

        defaults = attempt(run_defaults, run_file) or {}
        data, out = Path(data), Path(out)
        if not data.exists():
            problems.append(f"数据目录不存在：{data}")
        audience = audience if audience is not None else defaults.get("audience", "internal")
        if audience not in AUDIENCES:
            problems.append("audience 只能是 internal（内部核查版）或 public（公开版）。")
        workers = workers if workers is not None else defaults.get("workers", 1)
        if not isinstance(workers, int) or workers < 1:
            problems.append("--workers 至少为 1。")
        if work is not None:
            work = Path(work)
        elif audience == "public":
            work = Path(str(out).rstrip("/\\") + ".internal")
        else:
            work = out
        problems.extend(check_out_folder(out, data))
        if Path(work).resolve() != out.resolve():
            problems.extend(check_out_folder(Path(work), data, "工作目录"))
            if _inside(Path(work).resolve(), out.resolve()):
                problems.append(f"工作目录 {work} 不能在运行目录 {out} 之内（运行目录只放可公开的文件）。")
        max_months = defaults.get("max_period_months")
        span = attempt(parse_period, period or defaults.get("period"),
                       max_months=max_months) if max_months else None
        policy_path = Path(policy) if policy else parameter_path("policy/hubei.yaml")
        pol = attempt(load_policy, policy_path)
        rules_path = Path(rules) if rules else parameter_path("rules.yaml")
        rule_params = attempt(load_rule_params, rules_path)
        graph_path = Path(graph) if graph else parameter_path("graph.yaml")
        if graph and not graph_path.is_file():
            problems.append(f"找不到网络参数文件：{graph_path}")
            graph_params = None
        else:
            graph_params = attempt(load_graph_params, path=graph_path)
        townships_path = Path(townships_file) if townships_file else parameter_path("townships/caidian.yaml")
        loaded = attempt(load_township_params, townships_path)
        selected = attempt(resolve_townships, townships) or []
        if problems:
            raise ParameterError(f"运行参数有 {len(problems)} 处问题：\n" + "\n".join(
                f"- {p}" for p in problems))
        table, threshold = loaded
        return cls(data=data, out=out, work=Path(work), period=span, policy=pol,
                   policy_path=policy_path, rules=rule_params, rules_path=rules_path,
                   graph=graph_params, graph_path=graph_path, township_table=table,
                   townships_path=townships_path, few_reported_threshold=threshold,
                   townships=tuple(selected), workers=workers, audience=audience,
                   max_period_months=int(max_months),
                   notebook_time_limit_s=float(defaults["notebook_time_limit_minutes"]) * 60,
                   cell_timeout_s=float(defaults["cell_timeout_seconds"]))

    @classmethod
    def from_record(cls, record: dict) -> "RunParameters":
        """Rebuild the parameters a run recorded in its manifest (``--resume``).

        Raises
        ------
        ParameterError
            As :meth:`load` (a parameters file that moved or became invalid).
        """
        return cls.load(data=record["data"], out=record["out"], period=record["period"],
                        policy=record["policy"], rules=record["rules"],
                        townships_file=record["townships_file"], graph=record.get("graph"),
                        townships=record.get("townships") or None, workers=record["workers"],
                        audience=record["audience"], work=record.get("work") or record["out"])

"""District-wide analysis, done once per run: reconciliation, rules, network, metrics.

Cross-township duplicates, people who moved between townships and rings that
span townships are only visible district-wide, so the whole district is
analysed once; township notebooks only *view* the saved result.

Saved layout (``RUNDIR/analysis/``):

- ``findings.parquet`` — every finding (``onecard.core.findings.FINDINGS_COLUMNS``)
- ``rule_status.csv`` — one row per rule: checked / missing tables / counts
- ``recon.parquet`` — the reconciliation table (person x subsidy x month)
- ``rings.parquet``, ``ring_members.parquet``, ``hubs.parquet``,
  ``institutions.parquet`` — the network layer's tables
- ``network/`` — the network as data (``persons``, ``edges``, ``component`` as
  parquet, ``params.json``); :func:`load_network` rebuilds the object from them.
  Nothing executable is written or read: a ``network.pkl`` found in a run folder
  (older runs, or planted) is ignored, never unpickled (issue 10).
- ``public_ids.csv`` — the 公开编号 mapping (``kind, internal_id, public_no``) of
  public files; it stays in the work folder, never in a public run folder.
- ``metrics.parquet`` — per-township summary metrics
- ``finding_rows.parquet`` — one row per finding x source row (``finding_id, rule_id,
  table, _file, _sheet, _row, amount_fen``; ``onecard.rules.catalogue.run_catalogue``)
- ``cannot_clear.parquet`` — 未能排除合法情形 (``onecard.rules.context.UNRESOLVED_COLUMNS``)
- ``pending_matches.parquet`` — 待人工确认 names (``onecard.rules.context.PENDING_COLUMNS``)
- ``meta.json`` — period, policy files, run id
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.findings import empty_findings
from ..core.log import logger
from ..rules.catalogue import run_catalogue
from ..rules.context import RuleContext
from .parameters import parse_period  # noqa: F401  (re-exported: its home was here)

__all__ = ["Analysis", "analyse", "load_analysis", "parse_period"]


@dataclass
class Analysis:
    """The district analysis of one run.

    Attributes
    ----------
    findings : DataFrame
        Standard findings columns, every township.
    rule_status : DataFrame
        ``rule_id, clause, title_zh, checked, missing_tables, findings, amount_fen, seconds, error``.
    recon : DataFrame or None
        Reconciliation table (see ``onecard.recon.reconcile``).
    network : object or None
        ``onecard.graph.Network`` (graph, rings, ring_members, hubs, institutions).
    metrics : DataFrame
        Per-township summary metrics (see ``onecard.analysis.metrics``).
    meta : dict
        ``period`` (``[start, end]`` as ``YYYY-MM``), ``policy`` title/files/verified,
        ``run_id``, ``timings`` (seconds per stage).
    """

    findings: pd.DataFrame
    rule_status: pd.DataFrame
    recon: pd.DataFrame | None = None
    network: Any = None
    metrics: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict = field(default_factory=dict)
    finding_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    cannot_clear: pd.DataFrame = field(default_factory=pd.DataFrame)
    pending_matches: pd.DataFrame = field(default_factory=pd.DataFrame)

    def network_table(self, name: str) -> pd.DataFrame:
        """One of the network's tables (``rings``, ``ring_members``, ``hubs``,
        ``institutions``), empty when the network layer did not run."""
        value = getattr(self.network, name, None) if self.network is not None else None
        return value if isinstance(value, pd.DataFrame) else pd.DataFrame()

    def public_numbers(self) -> pd.DataFrame:
        """The run's 公开编号 (``onecard.core.mask.public_numbers``) of findings and rings."""
        from ..core.mask import public_numbers
        return public_numbers(self.findings, self.network_table("rings"))

    def save(self, folder: Path) -> None:
        """Write the analysis to ``folder`` (created)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.findings.to_parquet(folder / "findings.parquet", index=False)
        self.rule_status.to_csv(folder / "rule_status.csv", index=False, encoding="utf-8-sig")
        if self.recon is not None:
            _to_parquet(self.recon, folder / "recon.parquet")
        for name in ("rings", "ring_members", "hubs", "institutions"):
            table = self.network_table(name)
            _to_parquet(table, folder / f"{name}.parquet")
        if self.network is not None and hasattr(self.network, "persons"):
            save_network(self.network, folder / "network")
        self.public_numbers().to_csv(folder / "public_ids.csv", index=False, encoding="utf-8-sig")
        _to_parquet(self.metrics, folder / "metrics.parquet")
        for name in ("finding_rows", "cannot_clear", "pending_matches"):
            _to_parquet(getattr(self, name), folder / f"{name}.parquet")
        (folder / "meta.json").write_text(json.dumps(self.meta, ensure_ascii=False, indent=2),
                                          encoding="utf-8")


def _to_parquet(frame: pd.DataFrame, path: Path) -> None:
    frame = frame.copy()
    for col in frame.columns:  # lists/sets are not parquet-safe in every pyarrow build
        if frame[col].dtype == object and frame[col].map(lambda v: isinstance(v, (list, set, tuple))).any():
            frame[col] = frame[col].map(lambda v: ";".join(map(str, sorted(v)))
                                        if isinstance(v, (list, set, tuple)) else v)
    frame.to_parquet(path, index=False)


def load_analysis(folder: Path, with_network: bool = True) -> Analysis:
    """Read an analysis written by :meth:`Analysis.save`."""
    folder = Path(folder)
    recon = pd.read_parquet(folder / "recon.parquet") if (folder / "recon.parquet").exists() else None
    network = None
    if with_network and (folder / "network" / "persons.parquet").exists():
        network = load_network(folder / "network")
    if (folder / "network.pkl").exists():
        logger.warning("ignoring %s: a pickle is never loaded (it could run code)",
                       folder / "network.pkl")
    metrics = (pd.read_parquet(folder / "metrics.parquet")
               if (folder / "metrics.parquet").exists() else pd.DataFrame())
    an = Analysis(findings=pd.read_parquet(folder / "findings.parquet"),
                  rule_status=pd.read_csv(folder / "rule_status.csv", encoding="utf-8-sig",
                                          dtype={"missing_tables": str, "error": str},
                                          keep_default_na=False),
                  recon=recon, network=network, metrics=metrics,
                  meta=json.loads((folder / "meta.json").read_text(encoding="utf-8")),
                  **{n: pd.read_parquet(folder / f"{n}.parquet") for n in
                     ("finding_rows", "cannot_clear", "pending_matches") if (folder / f"{n}.parquet").exists()})
    if network is None:
        an.network = _TablesOnly({n: pd.read_parquet(folder / f"{n}.parquet")
                                  for n in ("rings", "ring_members", "hubs", "institutions")
                                  if (folder / f"{n}.parquet").exists()})
    return an


NETWORK_TABLES = ("persons", "edges", "rings", "ring_members", "hubs", "institutions")


def save_network(network, folder: Path) -> None:
    """Write a ``onecard.graph.Network`` as data: one parquet per table, ``component.parquet``
    (``node, component``) and ``params.json`` (compiled patterns left out; ``_blocked``
    as a list). The inverse is :func:`load_network`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in NETWORK_TABLES:
        table = getattr(network, name)
        if name == "persons":
            table = table.rename_axis("person_id").reset_index()
        _to_parquet(table, folder / f"{name}.parquet")
    comp = network.component
    pd.DataFrame({"node": comp.index.astype(str), "component": comp.values}).to_parquet(
        folder / "component.parquet", index=False)
    params = {k: v for k, v in network.params.items() if k != "_patterns"}
    params["_blocked"] = sorted(map(str, params.get("_blocked", ())))
    (folder / "params.json").write_text(json.dumps(params, ensure_ascii=False, indent=1,
                                                   default=str), encoding="utf-8")


def load_network(folder: Path):
    """Rebuild the ``Network`` saved by :func:`save_network` from its tables (data only;
    the networkx graph is built lazily from them on first use)."""
    from ..graph import Network

    folder = Path(folder)
    t = {n: pd.read_parquet(folder / f"{n}.parquet") for n in NETWORK_TABLES}
    persons = t["persons"].set_index("person_id")
    comp = pd.read_parquet(folder / "component.parquet")
    params = json.loads((folder / "params.json").read_text(encoding="utf-8"))
    params["_blocked"] = set(params.get("_blocked", ()))
    return Network(persons, t["edges"], t["rings"], t["ring_members"], t["hubs"],
                   t["institutions"], pd.Series(comp["component"].values, index=comp["node"].values),
                   params, {})


class _TablesOnly:
    """Stand-in for a network when only its tables were loaded."""

    def __init__(self, tables: dict[str, pd.DataFrame]):
        for k, v in tables.items():
            setattr(self, k, v)


def analyse(tables: dict[str, pd.DataFrame], policy, period: tuple[pd.Period, pd.Period],
            params: dict | None = None, run_id: str = "",
            quarantine: pd.DataFrame | None = None,
            self_reports: dict | None = None, graph: dict | None = None,
            data_dir: str | Path | None = None) -> Analysis:
    """Analyse the whole district once.

    Parameters
    ----------
    tables : dict of str -> DataFrame
        Canonical tables from intake (``payouts`` required).
    policy : onecard.policy.Policy
    period : (Period, Period)
        Review period, monthly, inclusive.
    params : dict, optional
        ``{rule_id: {param: value}}`` (``parameters/rules.yaml`` merged).
    run_id : str
        Stamped on every finding.
    quarantine : DataFrame, optional
        Intake's quarantined rows (``file, sheet, row, table, reason, detail, raw``);
        rules read it as ``ctx.extras["quarantine"]`` (e.g. damaged roster rows
        must not become ``NOT_IN_ROSTER`` findings).
    self_reports : dict, optional
        ``{township: problems its self-inspection reported}`` from the township
        parameters; the metrics name 零报送 / 抽查重点 townships from it.
    data_dir : path, optional
        The delivery folder (or file): its ``confirmations.yaml`` (investigators'
        confirmed name matches, ``onecard.rules.confirm``) is read by the rules.
    graph : dict, optional
        Network parameters (``RunParameters.graph``, from ``load_graph_params``);
        default: ``graph.yaml`` as found by ``onecard.core.resources``.

    Returns
    -------
    Analysis
    """
    timings = {}
    ctx = RuleContext(tables=tables, policy=policy, period=period, params=params or {},
                      extras={"quarantine": quarantine if quarantine is not None else pd.DataFrame(),
                              **({"self_reports": self_reports} if self_reports else {}),
                              **({"data_dir": Path(data_dir) if Path(data_dir).is_dir() else Path(data_dir).parent}
                                 if data_dir else {})})
    t0 = time.perf_counter()
    recon = _optional(lambda: ctx.recon, "reconciliation")
    timings["recon"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    network = _optional(lambda: _network(ctx, graph), "network")
    timings["network"] = round(time.perf_counter() - t0, 2)
    t0 = time.perf_counter()
    findings, status = run_catalogue(ctx, run_id=run_id)
    timings["rules"] = round(time.perf_counter() - t0, 2)
    metrics = _optional(lambda: _metrics(ctx, findings), "metrics")
    meta = {
        "run_id": run_id,
        "period": [str(period[0]), str(period[1])],
        "policy": {"title": getattr(policy, "title", ""),
                   "verified": bool(getattr(policy, "verified", False)),
                   "files": [{"path": str(p), "sha256": h} for p, h in getattr(policy, "files", [])]},
        "tables": sorted(tables),
        "timings": timings,
    }
    return Analysis(findings=findings if findings is not None else empty_findings(),
                    rule_status=status, recon=recon, network=network,
                    metrics=metrics if isinstance(metrics, pd.DataFrame) else pd.DataFrame(),
                    meta=meta, finding_rows=getattr(ctx, "finding_rows", pd.DataFrame()),
                    cannot_clear=getattr(ctx, "unresolved", pd.DataFrame()),
                    pending_matches=ctx.pending_matches)


def _network(ctx: RuleContext, graph: dict | None):
    """The context's network; built from ``graph`` (run parameters) when given, and
    cached in the context so the rules read that one."""
    if graph is not None and "network" not in ctx.__dict__:
        from ..graph import build_network
        overrides = {k: v for k, v in graph.items() if not k.startswith("_") and k != "households"}
        ctx.__dict__["network"] = build_network(
            ctx.tables, params=overrides, households=ctx.param("SHARED_IDENTIFIER_RING", "households"))
    return ctx.network


def _metrics(ctx: RuleContext, findings: pd.DataFrame) -> pd.DataFrame:
    from .metrics import township_metrics
    return township_metrics(ctx, findings)


def _optional(fn, stage: str):
    """Run an analysis stage whose failure must not hide the rules' findings."""
    try:
        return fn()
    except ImportError as exc:
        logger.warning("stage %s not available: %s", stage, exc)
    return None

"""The context every rule reads: tables, policy, review period, parameters.

Built once per run by the analysis. Its derived tables (prepared payouts, the
reconciliation, the shared-identifier network) are computed on first use and
shared by every rule; rules treat all of it as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from ..core.errors import ParameterError
from ..graph import build_network
from ..recon.prepare import prepare_payouts
from ..recon.reconcile import reconcile
from .catalogue import CATALOGUE

__all__ = ["RuleContext", "unresolved_frame", "UNRESOLVED_COLUMNS", "PENDING_COLUMNS"]

#: Columns of ``analysis/cannot_clear.parquet`` (未能排除合法情形).
UNRESOLVED_COLUMNS = ["rule_id", "subject_type", "subject_id", "township", "missing_column", "reason"]
#: Columns of ``analysis/pending_matches.parquet`` (待人工确认).
PENDING_COLUMNS = ["table", "_file", "_sheet", "_row", "column", "name", "township", "candidates", "reason"]


def unresolved_frame(parts: list) -> pd.DataFrame:
    """Concatenate ``cannot_clear`` parts into the standard frame (string columns)."""
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=UNRESOLVED_COLUMNS)
    out = out.drop_duplicates(["rule_id", "subject_type", "subject_id", "missing_column"]).reset_index(drop=True)
    return out[UNRESOLVED_COLUMNS].astype("string")



@dataclass
class RuleContext:
    """Everything a rule may read. Built once per run; rules treat it as read-only.

    Attributes
    ----------
    tables : dict of str -> DataFrame
        Canonical tables from intake (``onecard.core.tables``), with provenance.
    policy : onecard.policy.Policy
        The validated policy (standards in fen, deadlines, eligibility).
    period : tuple of pandas.Period
        Review period ``(start, end)``, inclusive, monthly.
    params : dict
        ``{rule_id: {param: value}}`` after defaults are merged.
    """

    tables: dict[str, pd.DataFrame]
    policy: Any
    period: tuple[pd.Period, pd.Period]
    params: dict[str, dict] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def has(self, table: str) -> bool:
        """True when ``table`` was supplied (even if it has zero accepted rows)."""
        return table in self.tables

    def supplied(self, table: str, column: str) -> bool:
        """``column`` of ``table`` was supplied: the table is present and the column
        exists with at least one non-blank cell. A blank cell in a supplied column
        means "none"; an absent or all-blank column means "not supplied"."""
        from .kit import supplied
        return supplied(self.tables.get(table), column)

    def cannot_clear(self, rule_id: str, subjects: pd.DataFrame, missing_column: str,
                     reason: str = "") -> None:
        """Record subjects ``rule_id`` would flag but cannot clear of its legitimate
        exception because ``missing_column`` was not supplied (未能排除合法情形).

        Parameters
        ----------
        subjects : DataFrame
            ``subject_id`` and optionally ``subject_type`` (default person) and
            ``township``; one row per subject.
        missing_column : str
            ``table.column`` that was not supplied (e.g. ``roster.household_id``).
        reason : str
            Chinese sentence; default names the column.

        Notes
        -----
        These subjects never become findings; ``run_catalogue`` collects them into
        ``ctx.unresolved`` and the analysis saves ``analysis/cannot_clear.parquet``.
        """
        if subjects is None or subjects.empty:
            return
        n = len(subjects)
        col = lambda c, d: (subjects[c].astype("string").to_numpy() if c in subjects  # noqa: E731
                            else pd.array([d] * n, dtype="string"))
        part = pd.DataFrame({
            "rule_id": rule_id, "subject_type": col("subject_type", "person"),
            "subject_id": col("subject_id", pd.NA), "township": col("township", pd.NA),
            "missing_column": missing_column,
            "reason": reason or f"未提供“{missing_column}”列，无法排除合法情形，列入未能排除合法情形清单待核实"})
        self.extras.setdefault("_unresolved", []).append(part[part["subject_id"].notna()])

    def pending(self, rows: pd.DataFrame) -> None:
        """Record name matches left to an investigator (待人工确认; :data:`PENDING_COLUMNS`)."""
        if rows is not None and len(rows):
            self.extras.setdefault("_pending", []).append(rows.reindex(columns=PENDING_COLUMNS))

    @property
    def pending_matches(self) -> pd.DataFrame:
        """Every pending name match recorded so far (one row per source row x column)."""
        parts = self.extras.get("_pending", [])
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PENDING_COLUMNS)
        out = out.drop_duplicates(["table", "_file", "_sheet", "_row", "column"]).reset_index(drop=True)
        out["_row"] = pd.to_numeric(out["_row"], errors="coerce").astype("Int64")
        return out.astype({c: "string" for c in PENDING_COLUMNS if c != "_row"})

    @property
    def confirmations(self) -> pd.DataFrame:
        """Investigator-confirmed name matches (``onecard.rules.confirm``): ``extras
        ["confirmations"]`` when given, else ``confirmations.yaml`` of the office
        parameters folder and of ``extras["data_dir"]`` (the delivery folder)."""
        if not isinstance(self.extras.get("confirmations"), pd.DataFrame):
            from .confirm import load_confirmations
            self.extras["confirmations"] = load_confirmations(self.extras.get("data_dir"))
        return self.extras["confirmations"]

    def message(self, rule_id: str, **values) -> str:
        """The rule's ``message`` template filled with this run's parameter values
        (``values`` add or override placeholders)."""
        r = CATALOGUE[rule_id]
        current = {k: self.param(rule_id, k) for k in r.params}
        return r.render({**current, **values})

    def table(self, table: str) -> pd.DataFrame:
        """The canonical table, or raise ``KeyError`` when not supplied."""
        return self.tables[table]

    def param(self, rule_id: str, name: str):
        """A rule parameter: run override, else ``parameters/rules.yaml``, else the rule default."""
        value = self.params.get(rule_id, {}).get(name)
        if rule_id not in CATALOGUE:
            from .catalogue import _ensure_loaded
            _ensure_loaded()
        if value is None:
            value = CATALOGUE[rule_id].params.get(name)
        if value is None:
            raise ParameterError(f"规则 {rule_id} 缺少参数 {name}，请在 parameters/rules.yaml 中设置。")
        return value

    @cached_property
    def payouts(self) -> pd.DataFrame:
        """Payouts with canonical subsidy names (``subsidy``; raw text in ``subsidy_raw``)."""
        return prepare_payouts(self.tables["payouts"], self.policy)

    @cached_property
    def recon(self) -> pd.DataFrame:
        """The reconciliation table (person x subsidy x month); see ``onecard.recon.reconcile``."""
        return reconcile(self)

    @cached_property
    def network(self):
        """The shared-identifier network (``onecard.graph``), built once per run."""
        return build_network(self.tables, households=self.param("SHARED_IDENTIFIER_RING", "households"))

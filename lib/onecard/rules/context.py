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

__all__ = ["RuleContext"]


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

    def table(self, table: str) -> pd.DataFrame:
        """The canonical table, or raise ``KeyError`` when not supplied."""
        return self.tables[table]

    def param(self, rule_id: str, name: str):
        """A rule parameter: run override, else ``parameters/rules.yaml``, else the rule default."""
        value = self.params.get(rule_id, {}).get(name)
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

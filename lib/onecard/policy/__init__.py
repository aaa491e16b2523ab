"""Policy as data: subsidy items, standards, eligibility, stop events, deadlines.

A policy file (``parameters/policy/*.yaml``) names the subsidy items with their
aliases, the standards by effective month and tier (grade, category,
registration type), eligibility conditions, mutually exclusive benefits, stop
events and the payment deadline, each figure with the document and URL it comes
from. A file may ``extends:`` another; the later file wins key by key (mappings
merge recursively, lists are replaced whole). See ``docs/policy.md``.

Public API::

    policy = load_policy()                       # parameters/policy/hubei.yaml
    policy.standard_fen("重度残疾人护理补贴", pd.Period("2021-03", "M"))  # -> 10000
    policy.standards_for(frame)                  # vectorised, Int64 fen
    policy.deadline(periods)                     # datetime64 deadlines

No yuan amount, deadline or threshold is a literal in rule code: rules ask this
object.
"""

from __future__ import annotations

from pathlib import Path

from ..core.resources import parameter_path
from .model import Policy
from .document import (CATEGORIES_ALL, DEFAULT_POLICY, GRADES_ALL, HUKOU_ALL, Standard, Subsidy,
                     _read_chain)

__all__ = ["Policy", "load_policy", "DEFAULT_POLICY", "HUKOU_ALL", "GRADES_ALL", "CATEGORIES_ALL",
           "Standard", "Subsidy"]


def load_policy(path: str | Path | None = None) -> Policy:
    """Load, merge (``extends:``) and validate a policy file.

    Parameters
    ----------
    path : str or Path, optional
        The top policy file (``--policy``); default ``parameters/policy/hubei.yaml``.

    Returns
    -------
    Policy
        Frozen; amounts converted to integer fen.

    Raises
    ------
    PolicyError
        Unknown keys, overlapping date ranges, a tier table that leaves an
        eligible grade, category or registration type without exactly one
        standard, a standard without source, a missing file. The message is
        Chinese and names the key.

    Examples
    --------
    >>> p = load_policy()
    >>> p.standard_fen("困难残疾人生活补贴", pd.Period("2021-01", "M"))
    7000
    """
    data, files = _read_chain(Path(path) if path else parameter_path("policy/hubei.yaml"))
    return Policy(data, files)

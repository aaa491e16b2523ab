"""The rule catalogue and its parameters.

- :func:`onecard.rules.catalogue.rule`, ``RuleContext``, ``run_catalogue``,
  ``catalogue_frame``: the registry (``catalogue.py``);
- :func:`load_rule_params`: ``parameters/rules.yaml`` (``{RULE_ID: {param: value}}``),
  validated against the registered rules.

Rule modules are grouped by clause: ``payments`` (3.1.1-3.1.2), ``amounts``
(standards), ``eligibility`` and ``stops`` (3.1.3), ``accounts`` (3.1.4, 3.2),
``governance`` (3.1.5, 3.1.6, 3.3).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..core.errors import ParameterError
from ..core.resources import packaged, parameter_path
from .catalogue import CATALOGUE, Rule, catalogue_frame, rule, run_catalogue
from .context import RuleContext

__all__ = ["CATALOGUE", "Rule", "RuleContext", "rule", "run_catalogue", "catalogue_frame",
           "load_rule_params", "RULES_YAML"]

RULES_YAML = packaged("parameters") / "rules.yaml"


def load_rule_params(path: str | Path | None = None) -> dict[str, dict]:
    """Rule parameters from ``parameters/rules.yaml`` (or ``path``), merged over the defaults.

    Returns
    -------
    dict
        ``{rule_id: {param: value}}`` for every registered rule that has parameters.

    Raises
    ------
    ParameterError
        Missing file (when a path is given), invalid YAML, an unknown rule id, an
        unknown parameter name, or a non-positive number. Messages are Chinese
        and name the key.
    """
    from .catalogue import _ensure_loaded
    _ensure_loaded()
    p = Path(path) if path else parameter_path("rules.yaml")
    if not p.exists():
        if path:
            raise ParameterError(f"找不到规则参数文件：{p}")
        data = {}
    else:
        try:
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ParameterError(f"规则参数文件 {p.name} 不是有效的 YAML：{exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"规则参数文件 {p.name} 的顶层应为 {{规则编号: {{参数: 值}}}}。")
    out = {rid: dict(r.params) for rid, r in CATALOGUE.items() if r.params}
    for rid, values in data.items():
        if rid not in CATALOGUE:
            raise ParameterError(f"规则参数文件 {p.name} 中的规则编号 {rid} 不存在；"
                                 f"可设参数的规则：{', '.join(sorted(out))}。")
        if not isinstance(values, dict):
            raise ParameterError(f"规则参数文件 {p.name} 中 {rid} 的值应为 {{参数: 值}}。")
        allowed = CATALOGUE[rid].params
        for name, value in values.items():
            if name not in allowed:
                raise ParameterError(f"规则参数文件 {p.name} 中 {rid}.{name} 不是该规则的参数；"
                                     f"允许的参数：{', '.join(allowed) or '无'}。")
            if isinstance(allowed[name], (int, float)) and (
                    isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0):
                raise ParameterError(f"规则参数文件 {p.name} 中 {rid}.{name} 应为正数，实际为 {value!r}。")
            out.setdefault(rid, {})[name] = value
    return out

"""Network parameters (``parameters/graph.yaml``), loaded once and validated.

Unknown keys are an error (:class:`onecard.core.errors.ParameterError`), never a
warning. Rule thresholds (the ``households`` N of ``RULES.md``) are rule
parameters read with ``ctx.param`` and are not part of this file.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path

import yaml

from ..core.errors import ParameterError
from ..core.resources import packaged, parameter_path

GRAPH_YAML = packaged("parameters") / "graph.yaml"

#: Defaults used when ``parameters/graph.yaml`` is absent; same keys as the file.
DEFAULTS: dict = {
    "placeholders": {"account": ["无", "0", "/"], "phone": ["无", "0", "/", "00000000000"],
                     "address": ["无", "/"]},
    "placeholder_patterns": {"account": ["^0+$"], "phone": ["^0+$", "^(\\d)\\1+$"],
                             "address": ["村委会$", "居委会$"]},
    "degree_cap": {"account": 30, "phone": 30, "address": 50},
    "household_relations": ["配偶", "子女", "父母"],
    "score_weights": {"households": 10.0, "persons": 2.0, "money_per_10k_yuan": 5.0,
                      "shared_addresses": 5.0, "status_members": 8.0, "officials": 15.0,
                      "bulk_opened": 4.0},
    "max_draw_nodes": 50,
    "draw_min_score": 20.0,
}

KINDS = ("account", "phone", "address")


@lru_cache(maxsize=4)
def _read_yaml(path: str) -> dict:
    p = Path(path)
    if not p.exists():
        return {}
    with p.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def load_graph_params(overrides: dict | None = None, path: str | Path | None = None) -> dict:
    """Graph parameters: defaults, then ``parameters/graph.yaml``, then ``overrides``.

    Parameters
    ----------
    overrides : dict, optional
        Same keys as the file; nested dicts are merged one level deep.
    path : path-like, optional
        Another YAML file instead of ``parameters/graph.yaml``.

    Returns
    -------
    dict
        With compiled regexes under ``_patterns`` (``{kind: [re.Pattern]}``).

    Raises
    ------
    ParameterError
        On an unknown key, or a weight/cap that is not a number.
    """
    params = copy.deepcopy(DEFAULTS)
    for layer in (_read_yaml(str(path or parameter_path("graph.yaml"))), overrides or {}):
        for key, value in layer.items():
            if key not in DEFAULTS:
                raise ParameterError(f"graph.yaml 中有未知参数 {key}；可用参数：{', '.join(DEFAULTS)}。")
            if isinstance(DEFAULTS[key], dict) and isinstance(value, dict):
                params[key] = {**params[key], **value}
            else:
                params[key] = value
    for key in ("degree_cap", "score_weights"):
        for name, value in params[key].items():
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ParameterError(f"graph.yaml 参数 {key}.{name} 应为数字，实际为 {value!r}。")
    for key in ("max_draw_nodes", "draw_min_score"):
        value = params[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ParameterError(f"graph.yaml 参数 {key} 应为非负数字，实际为 {value!r}。")
    try:
        params["_patterns"] = {k: [re.compile(p) for p in params["placeholder_patterns"].get(k, [])]
                               for k in KINDS}
    except re.error as exc:
        raise ParameterError(f"graph.yaml 中占位值正则表达式无效：{exc}") from exc
    return params

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

#: The defaults: the packaged ``parameters/graph.yaml`` (the single source; an office
#: copy or ``path`` overrides it key by key). Same keys as the file.
DEFAULTS: dict = yaml.safe_load(GRAPH_YAML.read_text(encoding="utf-8"))

KINDS = ("account", "phone", "address")


def _read_yaml(path: str) -> dict:
    p = Path(path)
    return _read_yaml_cached(path, p.stat().st_mtime_ns if p.exists() else 0)


@lru_cache(maxsize=4)
def _read_yaml_cached(path: str, _mtime_ns: int) -> dict:
    p = Path(path)
    if not p.exists():
        return {}
    try:
        with p.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"无法读取网络参数文件 {p}：{exc}") from exc


def load_graph_params(overrides: dict | None = None, path: str | Path | None = None) -> dict:
    """Graph parameters: packaged defaults, then the office ``graph.yaml`` (or ``path``), then ``overrides``.

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
    source = Path(path or parameter_path("graph.yaml"))
    layers = [] if source.resolve() == GRAPH_YAML.resolve() else [_read_yaml(str(source))]
    for layer in (*layers, overrides or {}):
        if not isinstance(layer, dict):
            raise ParameterError(f"{source.name} 的顶层应为 键: 值。")
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

"""Township parameters (``parameters/townships/*.yaml``): self-reported counts, contacts.

The file lists every official township unit of the district (names and codes
must agree with ``parameters/reference/caidian_divisions.csv``) with the number
of problems its self-inspection reported (自查上报问题数). The district summary
uses it to name the spot-check targets: townships that reported few or zero
problems (FOCUS_PROBLEMS.md, workflow step 2: spot checks in September aim first
at townships whose self-inspection found few problems or reported zero).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ..core.errors import ParameterError
from ..core.reference import township_aliases, townships
from ..core.resources import packaged, parameter_path, read_yaml_mapping

DEFAULT = packaged("parameters") / "townships" / "caidian.yaml"
__all__ = ["load_township_params", "resolve_townships"]
TOP_KEYS = {"district", "few_reported_threshold", "townships"}
ENTRY_KEYS = {"code", "self_reported", "contact"}


def load_township_params(path: str | Path | None = None) -> tuple[pd.DataFrame, int]:
    """Read and validate the township parameters.

    Returns
    -------
    table : DataFrame
        ``township`` (official name), ``code`` (9 digits), ``self_reported`` (Int64;
        missing = not reported yet), ``contact`` (text), in code order.
    few_reported_threshold : int
        Townships reporting fewer problems than this are spot-check targets.

    Raises
    ------
    ParameterError
        Unknown keys, a township or code not in the official list, a negative count;
        the Chinese message names the key.
    """
    path = Path(path or parameter_path("townships/caidian.yaml"))
    data = read_yaml_mapping(path, "街道参数文件")
    problems = []
    unknown = set(data) - TOP_KEYS
    if unknown:
        problems.append(f"街道参数文件 {path.name} 中有无法识别的键：{'、'.join(sorted(unknown))}；"
                        f"可用的键：{'、'.join(sorted(TOP_KEYS))}")
    official = dict(zip(townships()["name"], townships()["code"]))
    rows = []
    entries = data.get("townships") or {}
    if not isinstance(entries, dict):
        problems.append(f"街道参数文件 {path.name} 中 townships 应为 街道名称: {{code, self_reported, contact}}。")
        entries = {}
    for name, entry in entries.items():
        entry = entry if isinstance(entry, dict) else {}
        bad = set(entry) - ENTRY_KEYS
        if bad:
            problems.append(f"街道参数文件 {path.name} 中 {name} 有无法识别的键：{'、'.join(sorted(bad))}")
        if name not in official:
            problems.append(f"街道参数文件 {path.name} 中的“{name}”不是规范的街道(乡镇)名称；可用名称："
                            + "、".join(official))
            continue
        code = str(entry.get("code") or official[name])
        if code != official[name]:
            problems.append(f"街道参数文件 {path.name} 中 {name} 的代码 {code} 与区划代码 {official[name]} 不一致。")
        reported = entry.get("self_reported")
        if reported is not None and (isinstance(reported, bool) or not isinstance(reported, int) or reported < 0):
            problems.append(f"街道参数文件 {path.name} 中 {name}.self_reported 应为非负整数或留空（null），"
                            f"实际为 {reported!r}。")
            reported = None
        rows.append({"township": name, "code": code, "self_reported": reported,
                     "contact": str(entry.get("contact") or "")})
    threshold = data.get("few_reported_threshold", _packaged_threshold())
    if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
        problems.append(f"街道参数文件 {path.name} 中 few_reported_threshold 应为非负整数，实际为 {threshold!r}。")
    if problems:
        raise ParameterError("\n".join(problems))
    table = pd.DataFrame(rows, columns=["township", "code", "self_reported", "contact"])
    table["self_reported"] = pd.array(table["self_reported"].tolist(), dtype="Int64")
    return table.sort_values("code").reset_index(drop=True), threshold


def _packaged_threshold() -> int:
    """``few_reported_threshold`` of the packaged township file (its one default)."""
    return int(yaml.safe_load(DEFAULT.read_text(encoding="utf-8"))["few_reported_threshold"])


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

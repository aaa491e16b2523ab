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
from ..core.reference import townships
from ..core.resources import packaged, parameter_path

DEFAULT = packaged("parameters") / "townships" / "caidian.yaml"
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
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"无法读取街道参数文件 {path}：{exc}") from exc
    unknown = set(data) - TOP_KEYS
    if unknown:
        raise ParameterError(f"街道参数文件 {path.name} 中有无法识别的键：{'、'.join(sorted(unknown))}；"
                             f"可用的键：{'、'.join(sorted(TOP_KEYS))}")
    official = dict(zip(townships()["name"], townships()["code"]))
    rows = []
    for name, entry in (data.get("townships") or {}).items():
        entry = entry or {}
        bad = set(entry) - ENTRY_KEYS
        if bad:
            raise ParameterError(f"街道参数 {name} 中有无法识别的键：{'、'.join(sorted(bad))}")
        if name not in official:
            raise ParameterError(f"街道参数中的“{name}”不是规范的街道(乡镇)名称；可用名称："
                                 + "、".join(official))
        code = str(entry.get("code") or official[name])
        if code != official[name]:
            raise ParameterError(f"街道参数 {name} 的代码 {code} 与区划代码 {official[name]} 不一致。")
        reported = entry.get("self_reported")
        if reported is not None and (not isinstance(reported, int) or reported < 0):
            raise ParameterError(f"街道参数 {name}.self_reported 应为非负整数或留空（null），实际为 {reported!r}。")
        rows.append({"township": name, "code": code, "self_reported": reported,
                     "contact": str(entry.get("contact") or "")})
    table = pd.DataFrame(rows, columns=["township", "code", "self_reported", "contact"])
    table["self_reported"] = pd.array(table["self_reported"].tolist(), dtype="Int64")
    threshold = data.get("few_reported_threshold", 3)
    if not isinstance(threshold, int) or threshold < 0:
        raise ParameterError("few_reported_threshold 应为非负整数。")
    return table.sort_values("code").reset_index(drop=True), threshold

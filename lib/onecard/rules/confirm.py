"""Investigator confirmations of name matches (``confirmations.yaml``).

A name the rules could not resolve (重名, 未匹配, 信息不一致) is listed in
``analysis/pending_matches.parquet`` (待人工确认) and never becomes a finding. An
investigator who has checked it records the answer in ``confirmations.yaml``,
either beside the delivery (in the data folder) or in the office parameters
folder (``ONECARD_PARAMETERS``, read through ``onecard.core.resources.parameter_path``);
the next run reads both (the data folder's entries win) and resolves those names.

Format::

    matches:
      - table: entitlements      # table the name comes from (optional: any table)
        column: approver         # approver / handler / name (optional: any column)
        name: 曹某某
        township: 蔡甸街道        # optional: any township
        person_id: "420114196003051234"   # the person the name means
        note: 2021-06-02 张三核实  # optional, free text
      - table: entitlements
        name: 李某
        township: 永安街道
        person_id: none          # confirmed: nobody on the lists (stays unresolved, not pending)

Raises
------
ParameterError
    Invalid YAML or an entry without ``name`` or ``person_id`` (Chinese message naming the file).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from ..core.errors import ParameterError
from ..core.resources import parameter_path

__all__ = ["load_confirmations", "CONFIRM_COLUMNS", "FILE_NAME"]

FILE_NAME = "confirmations.yaml"
CONFIRM_COLUMNS = ["table", "column", "name", "township", "person_id", "note", "source"]


def _read(path: Path) -> list[dict]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"人工确认文件 {path} 不是有效的 YAML：{exc}") from exc
    items = data.get("matches", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ParameterError(f"人工确认文件 {path} 的格式应为 matches: [{{name, person_id, ...}}]。")
    out = []
    for i, it in enumerate(items, 1):
        if not isinstance(it, dict) or not it.get("name") or it.get("person_id") in (None, ""):
            raise ParameterError(f"人工确认文件 {path} 第{i}条缺少 name 或 person_id。")
        pid = str(it["person_id"]).strip().upper()
        out.append({"table": it.get("table"), "column": it.get("column"), "name": str(it["name"]).strip(),
                    "township": it.get("township"), "person_id": pd.NA if pid == "NONE" else pid,
                    "note": it.get("note"), "source": str(path)})
    return out


def load_confirmations(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Confirmed matches from the parameters folder and ``data_dir`` (later wins).

    Returns
    -------
    DataFrame with :data:`CONFIRM_COLUMNS` (string); ``person_id`` NA means
    "confirmed: no one on the lists".
    """
    rows: list[dict] = []
    p = parameter_path(FILE_NAME)
    if p is not None and Path(p).exists():
        rows += _read(Path(p))
    if data_dir is not None and (Path(data_dir) / FILE_NAME).exists():
        rows += _read(Path(data_dir) / FILE_NAME)
    return pd.DataFrame(rows, columns=CONFIRM_COLUMNS).astype("string")

"""A township's own data quality (issue 12 item 7), not the district's table.

Which rows belong to a township:

- accepted rows: the canonical intake tables' ``township`` column, counted per
  source file and sheet (``_file``, ``_sheet``);
- quarantined rows (``intake/quarantine.csv``, no township column): a row belongs
  to the township when its sheet holds only that township's accepted rows (or is
  named after it), or when its raw cells name the township. A quarantined row
  of a mixed sheet that names no township is district material and appears only
  in the district summary.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..core.tables import TABLE_LABELS

__all__ = ["township_quality", "township_damaged_rows"]

QUALITY_COLUMNS = ["文件", "工作表", "表", "本街道接收行", "本街道隔离行", "隔离原因"]


def _accepted(run) -> pd.DataFrame:
    """``table, _file, _sheet, township, rows`` over the intake tables with a township column."""
    parts = []
    for path in sorted(Path(getattr(run, "work", None) or run.folder, "intake").glob("*.parquet")):
        try:
            t = pd.read_parquet(path, columns=["township", "_file", "_sheet"])
        except (KeyError, ValueError, OSError):   # a table without township/source columns
            continue
        g = (t.assign(_sheet=t["_sheet"].astype("string").fillna(""), township=t["township"].astype("string"))
             .groupby(["_file", "_sheet", "township"], dropna=False).size().rename("rows").reset_index())
        parts.append(g.assign(table=path.stem))
    cols = ["table", "_file", "_sheet", "township", "rows"]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def _own_quarantine(run, township: str, accepted: pd.DataFrame) -> pd.DataFrame:
    q = run.quarantine.copy()
    if q.empty:
        return q
    q["sheet"] = q["sheet"].astype("string").fillna("")
    per_sheet = accepted.groupby(["_file", "_sheet"])["township"].agg(lambda s: set(s.dropna()))
    only = {k for k, towns in per_sheet.items() if towns == {township}}
    key = list(zip(q["file"], q["sheet"]))
    exclusive = pd.Series([k in only for k in key], index=q.index) | (q["sheet"] == township)
    named = q["raw"].astype("string").str.contains(township, regex=False).fillna(False)
    return q[(exclusive | named).to_numpy(bool)]


def township_quality(run, township: str) -> pd.DataFrame:
    """Per source file and sheet with rows of ``township``: ``文件, 工作表, 表, 本街道接收行,
    本街道隔离行, 隔离原因`` (reasons in Chinese with counts)."""
    from .review import REASON_ZH

    acc = _accepted(run)
    mine = acc[(acc["township"] == township).fillna(False).to_numpy(bool)]
    mine = mine.groupby(["_file", "_sheet", "table"], as_index=False)["rows"].sum()
    q = _own_quarantine(run, township, acc)
    qn = (q.groupby(["file", "sheet", "table"]).size().rename("quarantined").reset_index()
          .rename(columns={"file": "_file", "sheet": "_sheet"}))
    reasons = (q.assign(r=q["reason"].map(REASON_ZH).fillna(q["reason"]))
               .groupby(["file", "sheet", "table", "r"]).size().rename("n").reset_index())
    reasons = (reasons.assign(t=reasons["r"] + " " + reasons["n"].astype(str) + "行")
               .groupby(["file", "sheet", "table"])["t"].agg("；".join).rename("reasons").reset_index()
               .rename(columns={"file": "_file", "sheet": "_sheet"}))
    out = mine.merge(qn, on=["_file", "_sheet", "table"], how="outer").merge(
        reasons, on=["_file", "_sheet", "table"], how="left")
    out = out.sort_values(["table", "_file", "_sheet"], kind="stable")
    return pd.DataFrame({"文件": out["_file"], "工作表": out["_sheet"],
                         "表": out["table"].map(lambda t: TABLE_LABELS.get(t, t)),
                         "本街道接收行": out["rows"].fillna(0).astype(int),
                         "本街道隔离行": out["quarantined"].fillna(0).astype(int),
                         "隔离原因": out["reasons"].fillna("")}, columns=QUALITY_COLUMNS).reset_index(drop=True)


def township_damaged_rows(run, township: str) -> pd.DataFrame:
    """The township's own rows whose ID or card number Excel damaged (same columns as
    :func:`onecard.views.review.damaged_rows`)."""
    from .review import DAMAGE_REASONS, REASON_ZH

    q = _own_quarantine(run, township, _accepted(run))
    q = q[q["reason"].isin(DAMAGE_REASONS)] if not q.empty else q
    return pd.DataFrame({"文件": q.get("file"), "工作表": q.get("sheet"), "行": q.get("row"),
                         "表": q.get("table", pd.Series(dtype=str)).map(lambda t: TABLE_LABELS.get(t, t)),
                         "原因": q.get("reason", pd.Series(dtype=str)).map(REASON_ZH),
                         "原始值": q.get("detail")}, columns=["文件", "工作表", "行", "表", "原因", "原始值"]
                        ).reset_index(drop=True)

"""Stage (due 7/15) and annual (due 12/15) summaries as HTML and PDF (issue 12).

``onecard summary --run RUNDIR --stage|--annual [--cutoff DATE] [--ledger PATH]``
writes ``RUNDIR/阶段总结_截至<cutoff>.html|.pdf`` (or 年度总结).

With a ledger (``--ledger`` or the run manifest's ``ledger.path``) every figure is
the ledger as of the cut-off, computed by :func:`onecard.ledger.exports.report_tables`
and shown with the ledger's own display helper, so the figures equal
``onecard ledger export --stage|--annual --cutoff`` for the same cut-off. Without a
ledger the summary shows the run's findings (all still 疑点) and money categories,
and says that no verification has been recorded.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from ..core.errors import ParameterError
from .render import AUDIENCES, render_html, write_pdf

__all__ = ["render_period_summary", "KIND_ZH"]

KIND_ZH = {"stage": "阶段总结", "annual": "年度总结"}
DUE_ZH = {"stage": "7月15日前", "annual": "12月15日前"}


def _rows(frame: pd.DataFrame) -> tuple[list[str], list[list]]:
    """Header and cell texts of a display frame (money columns in 元 with two decimals)."""
    from ..core.findings import yuan

    cols = list(frame.columns)
    out = []
    for rec in frame.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, rec):
            if v is None or (not isinstance(v, str) and pd.isna(v)):
                cells.append("")
            elif "(元)" in c:
                cells.append(yuan(round(float(v) * 100)))
            elif isinstance(v, float) and v.is_integer():
                cells.append(f"{int(v):,}")
            elif isinstance(v, (int,)) and not isinstance(v, bool):
                cells.append(f"{v:,}")
            else:
                cells.append(str(v))
        out.append(cells)
    return cols, out


def render_period_summary(run, out_dir: str | Path, *, kind: str, cutoff: str | None = None,
                          ledger_path: str | Path | None = None) -> dict:
    """Write the stage or annual summary; returns ``{"html": Path, "pdf": Path}``.

    Parameters
    ----------
    run : onecard.views.review.Run
    kind : {"stage", "annual"}
    cutoff : str, optional
        ``YYYY-MM-DD``; required with a ledger (as ``onecard ledger export``), else today.
    ledger_path : path, optional
        Overrides the manifest's ``ledger.path``.

    Raises
    ------
    ParameterError
        Unknown ``kind``.
    onecard.ledger.store.LedgerError
        Missing or bad cut-off with a ledger.
    """
    from ..views.money import finding_rows
    from ..views.run_ledger import open_run_ledger
    from . import sections

    if kind not in KIND_ZH:
        raise ParameterError("总结类型只能是 --stage（阶段总结）或 --annual（年度总结）。")
    audience = ((run.manifest or {}).get("parameters") or {}).get("audience", "internal")
    ledger = open_run_ledger(run.manifest, ledger_path)
    tables = []
    try:
        if ledger is not None:
            from ..ledger.exports import SUMMARY_HEAD, display_table, report_tables

            t = report_tables(ledger, kind=kind, cutoff=cutoff)
            meta = t["meta"].iloc[0]
            window = (meta["start"], meta["end"], meta["cutoff"])
            for title, key in (("按街道(乡镇)汇总", "by_township"), ("按条款汇总", "by_clause"),
                               ("资金分类", "money")):
                cols, rows = _rows(display_table(t[key], SUMMARY_HEAD))
                tables.append({"title": title, "columns": cols, "rows": rows})
        else:
            day = pd.Timestamp(cutoff or dt.date.today()).strftime("%Y-%m-%d")
            window = (f"{day[:4]}-01-01", day, day)
            f = run.analysis.findings
            by = f.groupby(f["township"].fillna("（未填）")).size().rename("疑点（待核实）").reset_index()
            by = pd.concat([by, pd.DataFrame([{"township": "合计", "疑点（待核实）": len(f)}])], ignore_index=True)
            cols, rows = _rows(by.rename(columns={"township": "街道(乡镇)"}))
            tables.append({"title": "按街道(乡镇)汇总（本次运行，尚无台账核实记录）", "columns": cols, "rows": rows})
    finally:
        if ledger is not None:
            ledger.close()
    context = {"kind_zh": KIND_ZH[kind], "due": DUE_ZH[kind], "window": window, "with_ledger": ledger is not None,
               "tables": tables, "period": run.period, "run_id": run.analysis.meta.get("run_id", ""),
               "audience_label": AUDIENCES.get(audience, ""),
               **sections.policy_section(run), **sections.money_section(run, rows=finding_rows(run))}
    html = render_html("period_summary.html.j2", context)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{KIND_ZH[kind]}_截至{window[2]}"
    paths = {"html": out / f"{stem}.html", "pdf": out / f"{stem}.pdf"}
    paths["html"].write_text(html, encoding="utf-8")
    write_pdf(html, paths["pdf"])
    return paths

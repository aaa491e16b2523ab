"""Render the township review and the district summary to HTML and PDF.

HTML comes from the Jinja2 templates in ``templates/`` (autoescaped); the PDF is
rendered from the same HTML by WeasyPrint with the CJK font embedded
(REAL_WORLD_CASES B32/B33: no LaTeX, no browser download). Findings exports
are CSV (UTF-8 with BOM) and .xlsx with identifiers as text.

Audience: ``internal`` shows IDs, accounts and phones in full (for the
investigators and referrals); ``public`` masks them (``mask.mask_frame``).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..core.findings import FINDINGS_COLUMNS, yuan
from ..core.labels import FINDING_COLUMNS_ZH, format_score
from ..core.resources import template_dir
from ..core.tables import TABLE_LABELS
from .charts import findings_by_rule_chart, monthly_payments_chart, to_data_uri, townships_chart
from .excel import write_csv
from .findings_xlsx import rule_titles, write_findings_xlsx
from ..core.fonts import css_font_face
from ..core.mask import Publisher
from ..ledger.runview import SINCE_LABELS

TEMPLATES = template_dir()
AUDIENCES = {"internal": "内部核查版（含完整身份信息，注意保密）", "public": "公开版（姓名、身份证号、账号、电话已脱敏，疑点以公开编号标识）"}

#: Chinese headers of the findings columns (one definition: ``core.labels``).
FINDINGS_HEADERS_ZH = FINDING_COLUMNS_ZH
#: Public exports carry 公开编号 instead of 疑点编号 (finding_id).
PUBLIC_HEADERS_ZH = {"public_no": "公开编号",
                     **{k: v for k, v in FINDINGS_HEADERS_ZH.items() if k != "finding_id"}}


def _env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined,
                      autoescape=select_autoescape(["html", "j2", "xml"]))
    env.filters["yuan"] = lambda fen: "" if fen is None or pd.isna(fen) else yuan(fen)
    env.filters["num"] = lambda v: f"{int(v):,}" if v is not None and not pd.isna(v) else ""
    env.filters["table"] = lambda name: TABLE_LABELS.get(name, name)
    return env


def render_html(template: str, context: dict) -> str:
    """Render ``templates/<template>`` with ``context`` (autoescaped)."""
    ctx = dict(context)
    ctx.setdefault("font_face", css_font_face())
    ctx.setdefault("generated", dt.datetime.now().strftime("%Y-%m-%d %H:%M"))
    return _env().get_template(template).render(**ctx)


def write_pdf(html: str, path: Path) -> Path:
    """Render ``html`` to a PDF with WeasyPrint."""
    from weasyprint import HTML

    path = Path(path)
    HTML(string=html, base_url=str(TEMPLATES)).write_pdf(str(path))
    return path


def export_findings(findings: pd.DataFrame, folder: Path, audience: str = "internal",
                    publisher: Publisher | None = None, *, ledger=None) -> dict:
    """Write ``findings.csv`` (machine format: canonical columns, fen, BOM) and
    ``findings.xlsx`` (for people: :mod:`onecard.report.findings_xlsx`) into ``folder``.

    Public: ``public_no`` (公开编号) replaces ``finding_id`` as the first column and
    every other column is masked by ``publisher`` (``core.mask.mask_frame``; without
    one only digit runs and name columns are masked - callers pass ``Run.publisher``).
    ``ledger`` (internal audience only) adds the fill-in sheet that
    ``onecard ledger import`` reads back.

    Returns
    -------
    dict
        ``{"truncated": n}``: .xlsx cells cut at Excel's 32,767-character limit (each
        says so in the cell; the CSV keeps the full text).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = findings[FINDINGS_COLUMNS]
    if audience == "public":
        out = mask_frame_public(out, publisher)
    write_csv(out, folder / "findings.csv")
    stats: dict = {}
    write_findings_xlsx(out, folder / "findings.xlsx", titles=rule_titles(),
                        ledger=ledger if audience == "internal" else None, stats=stats)
    return {"truncated": stats.get("truncated", 0)}


def mask_frame_public(frame: pd.DataFrame, publisher: Publisher | None) -> pd.DataFrame:
    """``frame`` masked by ``publisher`` (or by rule only when there is none)."""
    return (publisher or Publisher()).frame(frame)


def findings_rows(findings: pd.DataFrame, audience: str, limit: int,
                  publisher: Publisher | None = None) -> list[dict]:
    """Findings as template rows, at most ``limit``; ``number`` is the finding_id
    (internal) or the 公开编号 (public, everything masked by ``publisher``)."""
    shown = findings.head(limit)
    if audience == "public":
        shown = mask_frame_public(shown, publisher)
        shown = shown.assign(number=shown["public_no"])
    else:
        shown = shown.assign(number=shown["finding_id"])
    return shown.astype(object).where(shown.notna(), None).to_dict("records")


def _since_rows(since: dict) -> dict:
    """The since-last-run dict with its lists as template rows."""
    return {**since, "lists": {k: _rows(v) for k, v in since["lists"].items()}}


def _rows(frame: pd.DataFrame) -> list[dict]:
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def render_township_report(run, township: str, out_dir: Path, audience: str = "internal",
                           max_rows: int = 200, parameters: dict | None = None,
                           top_cases: int = 5) -> dict:
    """Write the township's ``review.html``, ``review.pdf``, ``findings.csv``, ``findings.xlsx``.

    Parameters
    ----------
    run : onecard.views.review.Run
    township : str
        Official township name.
    out_dir : Path
        The township's folder in the run.
    audience : {"internal", "public"}
    max_rows : int
        Findings listed in the report (all of them are in the exports).
    parameters : dict, optional
        The notebook parameters actually used, stamped into the report header.
    top_cases : int
        Persons whose timeline is drawn (top cases by severity, then money).

    Returns
    -------
    dict of output name -> Path
    """
    from ..views import review
    from ..views.money import finding_rows
    from ..views.quality import township_damaged_rows, township_quality
    from ..views.run_ledger import open_run_ledger
    from . import sections

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    findings = review.findings_with_status(run, township)
    by_rule = review.findings_by_rule(run, township)
    overview = review.township_overview(run, township)
    rings = review.rings_for(run, township)
    publisher = run.publisher if audience == "public" else None
    charts = [to_data_uri(findings_by_rule_chart(by_rule, f"{township}各类疑点数量")),
              to_data_uri(monthly_payments_chart(review.monthly_payments(run, township),
                                                 f"{township}各月成功发放金额（元）"))]
    graphs = review.export_township_graphs(run, township, out_dir / "graph", audience)
    rings_shown = run.shown(rings.head(20), audience)
    if not rings_shown.empty:
        rings_shown = rings_shown.assign(score=rings_shown["score"].map(format_score))
    context = {
        "township": township, "audience": audience, "audience_label": AUDIENCES[audience],
        "period": run.period, "run_id": run.analysis.meta.get("run_id", ""), "overview": overview,
        "by_rule": by_rule.to_dict("records"), "findings": findings_rows(findings, audience, max_rows, publisher),
        "titles": dict(zip(by_rule["rule_id"], by_rule["title_zh"])),
        "findings_total": len(findings), "max_rows": max_rows, "headers": FINDINGS_HEADERS_ZH,
        "rings": _rows(rings_shown),
        "charts": charts, "graph_files": len(graphs),
        "quality": _rows(run.shown(township_quality(run, township), audience)),
        "damaged": _rows(run.shown(township_damaged_rows(run, township), audience)),
        "not_checked": review.not_checked(run).to_dict("records"),
        "parameters": _parameters_zh(parameters or {}),
        "since": _since_rows(review.since_last_run(run, township)), "since_labels": SINCE_LABELS,
        **sections.labels_section(), **sections.policy_section(run), **sections.appendix_section(run),
        **sections.money_section(run, township, rows=finding_rows(run)),
        **sections.timeline_section(run, findings, audience, top_cases),
        **sections.ring_section(run, township, audience),
    }
    html = render_html("township_review.html.j2", context)
    paths = {"html": out_dir / "review.html", "pdf": out_dir / "review.pdf"}
    paths["html"].write_text(html, encoding="utf-8")
    write_pdf(html, paths["pdf"])
    ledger = open_run_ledger(run.manifest) if audience == "internal" else None
    try:
        export_findings(findings, out_dir, audience, publisher, ledger=ledger)
    finally:
        if ledger is not None:
            ledger.close()
    paths.update(csv=out_dir / "findings.csv", xlsx=out_dir / "findings.xlsx")
    if graphs:
        paths["graph"] = out_dir / "graph"
    return paths


PARAMETER_LABELS = {"township": "街道(乡镇)", "audience": "版本", "max_rows": "报告最多列出疑点",
                    "run_dir": "运行目录", "period": "核查期间"}
AUDIENCE_SHORT = {"internal": "内部核查版", "public": "公开版"}


def _parameters_zh(parameters: dict) -> dict:
    """The notebook parameters actually used, with Chinese labels (stamped on the report, B25)."""
    out = {}
    for key, value in parameters.items():
        if key == "run_dir":
            value = Path(str(value)).name
        if key == "audience":
            value = AUDIENCE_SHORT.get(value, value)
        if key == "max_rows":
            value = f"{value} 条"
        out[PARAMETER_LABELS.get(key, key)] = value
    return out


#: Metrics columns that add up ``amount_fen`` across rules (double counting): not shown.
SUM_COLUMNS = ("疑点金额（元）", "疑点金额（分）", "每千名受益人疑点金额（元）")


def render_district_summary(run, out_dir: Path, parameters: dict | None = None,
                            ledger_path: str | Path | None = None, audience: str | None = None) -> dict:
    """Write ``district_summary.html`` and ``.pdf`` into the run folder ``out_dir``.

    The summary is a league table (townships ranked per 1,000 beneficiaries, money
    in the three categories), the spot-check targets with reasons (from the ledger's
    submissions when the run has a ledger — manifest ``ledger.path`` or
    ``ledger_path`` — else the township parameters), the typical cases and top
    rings; run details are in the appendix. ``audience`` defaults to the run's
    (``manifest.parameters.audience``); public masks the tables and cases.
    """
    from ..views import review
    from ..views.money import finding_rows
    from ..views.run_ledger import open_run_ledger
    from . import sections

    out_dir = Path(out_dir)
    metrics = run.analysis.metrics
    audience = audience or ((run.manifest or {}).get("parameters") or {}).get("audience", "internal")
    by_rule = review.findings_by_rule(run)
    charts = [to_data_uri(findings_by_rule_chart(by_rule, "全区各类疑点数量"))]
    if not metrics.empty and "疑点数" in metrics.columns:
        charts.append(to_data_uri(townships_chart(metrics, "疑点数", "疑点数（条）",
                                                  "各街道(乡镇)疑点数量")))
    shown = review.metrics_display(run)
    shown = shown.drop(columns=[c for c in SUM_COLUMNS if c in shown.columns])
    ledger = open_run_ledger(run.manifest, ledger_path)
    try:
        league = sections.league_section(run, audience, ledger, rows=finding_rows(run))
    finally:
        if ledger is not None:
            ledger.close()
    context = {
        "period": run.period, "run_id": run.analysis.meta.get("run_id", ""),
        "audience": audience, "audience_label": AUDIENCES.get(audience, ""),
        "overview": review.township_overview(run),
        "by_rule": by_rule.to_dict("records"), "charts": charts,
        "metrics_columns": list(shown.columns),
        "metrics": shown.to_dict("records"),
        "quality": _rows(run.shown(review.data_quality(run), audience)),
        "damaged": _rows(run.shown(review.damaged_rows(run), audience)),
        "not_checked": review.not_checked(run).to_dict("records"),
        "townships": (run.manifest or {}).get("townships", []),
        "parameters": _parameters_zh(parameters or {}),
        "since": _since_rows(review.since_last_run(run)), "since_labels": SINCE_LABELS,
        "titles": dict(zip(by_rule["rule_id"], by_rule["title_zh"])), "with_ledger": ledger is not None,
        **sections.labels_section(), **sections.policy_section(run), **sections.appendix_section(run), **league,
    }
    ledger_table = review.ledger_by_township(run)
    context.update(ledger_columns=list(ledger_table.columns) if len(ledger_table) else [],
                   ledger_rows=_rows(ledger_table))
    html = render_html("district_summary.html.j2", context)
    paths = {"html": out_dir / "district_summary.html", "pdf": out_dir / "district_summary.pdf"}
    paths["html"].write_text(html, encoding="utf-8")
    write_pdf(html, paths["pdf"])
    return paths

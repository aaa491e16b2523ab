"""The explorer's widgets (ipywidgets in JupyterLab) and its batch-mode output.

:class:`ExplorerApp` wires :mod:`.find`, :mod:`.story`, :mod:`.network` and
:mod:`.decide` to controls; every control is an attribute, so tests set
``app.township.value = ...`` and read ``app.results.value`` in plain Python.
Charts are PNG images (``widgets.Image``), tables HTML (``widgets.HTML``).

In batch mode (papermill) the notebook calls :func:`batch_view` instead: no
control is created, so execution never waits on one and the saved notebook holds
tables, not widget reprs (REAL_WORLD_CASES B30).
"""

from __future__ import annotations

import html
import io
import threading
from pathlib import Path

import pandas as pd

from ..core.findings import yuan
from ..core.labels import SEVERITY_ZH
from ..core.log import logger
from ..core.mask import mask_frame
from . import decide
from .data import ExplorerData, open_run
from .find import ALL, SORT_KEYS, Filters, display_findings, find, html_table, sort_findings
from .network import Neighbourhood, edge_index, svg_neighbourhood, node_label, path_table, why_linked
from .story import draw_story_timeline, person_story

__all__ = ["ExplorerApp", "build_explorer", "batch_view", "persons_of_finding", "export_selection",
           "build_pack"]

PACK_MISSING_ZH = "证据包功能尚未安装"


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return buf.getvalue()


def persons_of_finding(data: ExplorerData, row: pd.Series) -> list[str]:
    """Persons a finding is about: the subject person, related persons, and the
    holders of a subject account or phone (e.g. the holder of a pooled account)."""
    ids = []
    if row["subject_type"] == "person":
        ids.append(str(row["subject_id"]))
    elif row["subject_type"] in ("account", "phone"):
        node = f"{row['subject_type']}:{row['subject_id']}"
        e = data.edges
        own = e[(e["v"] == node).fillna(False).to_numpy(bool)
                & e["kind"].isin(["holds", "official_account", "official_phone", "contact_phone"])
                .fillna(False).to_numpy(bool)]
        ids += own["u"].astype(str).str.slice(len("person:")).tolist()
    rel = str(row["related_ids"]) if not pd.isna(row["related_ids"]) else ""
    ids += [r for r in rel.split(";") if r]
    return [p for p in dict.fromkeys(ids) if p in data.person_pos]


def _person_label(data: ExplorerData, pid: str) -> str:
    return node_label(data, f"person:{pid}").replace("\n", " ")


def export_selection(data: ExplorerData, findings: pd.DataFrame, path) -> Path:
    """Write findings to an .xlsx with Chinese headers, money in 元, formulas defused
    (``onecard.report.excel.write_xlsx``), masked for the public audience."""
    from ..report.excel import write_xlsx

    table = display_findings(findings, data.audience,
                             names=data.names_in(findings) if data.public else None)
    return write_xlsx({"疑点": table}, Path(path))


def build_pack(data: ExplorerData, finding_id: str, out_dir) -> tuple[Path | None, str]:
    """Build a finding's evidence pack with ``onecard.report.pack.build_pack`` (when
    installed), with its ledger history. Returns ``(html path or None, Chinese message)``."""
    try:
        from ..report import pack
    except ImportError:
        return None, PACK_MISSING_ZH
    if not hasattr(pack, "build_pack"):
        return None, PACK_MISSING_ZH
    from ..views.review import load_run

    run = load_run(data.work_dir, with_network=False)
    if not run.manifest:
        run.manifest = data.manifest
    hist = decide.history(data.ledger_path, finding_id, raw=True) if data.ledger_path else None
    out = pack.build_pack(run, finding_id, Path(out_dir), data.audience,
                          history=hist if hist is not None and len(hist) else None)
    path = out.get("html") if isinstance(out, dict) else out
    return path, f"证据包已生成：{path}"


def warm(data: ExplorerData) -> None:
    """Build the per-person indexes, the edge adjacency and the chart machinery in the
    background after opening, so the first person view answers as fast as the next."""
    try:
        data.warm()
        edge_index(data)
        import matplotlib.pyplot  # noqa: F401

        from ..core.fonts import use_cjk_font
        use_cjk_font()
    except Exception as exc:  # warming is an optimisation: the views build what they need
        logger.warning("explorer: background warm-up failed: %s", exc)


class ExplorerApp:
    """The explorer's controls and their wiring (see module doc).

    Parameters
    ----------
    data : ExplorerData
    by : str
        Default 处理人 for decisions.
    background : bool
        Warm the person indexes in a background thread (:func:`warm`).
    """

    def __init__(self, data: ExplorerData, by: str = "", background: bool = True):
        import ipywidgets as w

        self.w = w
        self.data = data
        self.selection = data.findings.iloc[:0]
        self.nodes_found: set[str] = set()
        self.story = None
        self.nb: Neighbourhood | None = None
        f = data.findings
        towns = sorted(t for t in f["township"].dropna().unique())
        rules = sorted(f["rule_id"].dropna().unique())
        lay = w.Layout(width="260px")
        self.township = w.Dropdown(options=[ALL, *towns], value=ALL, description="街道(乡镇)", layout=lay)
        clauses = sorted(f["clause"].dropna().unique())
        self.rule = w.Dropdown(options=[(ALL, ALL)] + [(f"条款 {c}", c) for c in clauses]
                               + [(f"{r} {data.rule_titles.get(r, '')}".strip(), r) for r in rules],
                               value=ALL, description="条款/规则",
                               layout=w.Layout(width="420px"))
        self.severity = w.Dropdown(options=[(ALL, ALL)] + [(v, k) for k, v in SEVERITY_ZH.items()],
                                   value=ALL, description="风险等级", layout=lay)
        self.status = w.Dropdown(options=[ALL, *decide.STATUSES], value=ALL, description="台账状态",
                                 layout=lay)
        self.min_yuan = w.Text(value="", placeholder="元", description="金额≥", layout=lay)
        self.max_yuan = w.Text(value="", placeholder="元", description="金额≤", layout=lay)
        self.query = w.Text(value="", placeholder="身份证号、姓名（可拼音）、账号或手机号",
                            description="搜索", continuous_update=False, layout=w.Layout(width="420px"))
        self.sort_by = w.Dropdown(options=list(SORT_KEYS.items()), value="severity", description="排序",
                                  layout=lay)
        self.descending = w.Checkbox(value=False, description="倒序")
        self.message = w.HTML(value="")
        self.results = w.HTML(value="")
        self.finding = w.Dropdown(options=[], description="疑点", layout=w.Layout(width="760px"))
        self.person = w.Dropdown(options=[], description="人员", layout=w.Layout(width="520px"))
        self.open_person = w.Button(description="查看此人", button_style="primary")
        self.export_path = w.Text(value=str(self._default_export()), description="导出到",
                                  layout=w.Layout(width="520px"))
        self.export = w.Button(description="导出当前结果到Excel")
        self.pack = w.Button(description="生成证据包")
        # story
        self.card = w.HTML(value="")
        self.timeline = w.Image(format="png", value=b"")
        self.story_tables = w.HTML(value="")
        # network
        self.graph = w.HTML(value="")
        self.expand_node = w.Dropdown(options=[], description="展开节点", layout=w.Layout(width="420px"))
        self.expand = w.Button(description="展开一层")
        self.link_a = w.Dropdown(options=[], description="从", layout=w.Layout(width="420px"))
        self.link_b = w.Dropdown(options=[], description="到", layout=w.Layout(width="420px"))
        self.explain = w.Button(description="为什么关联")
        self.path = w.HTML(value="")
        self.ring = w.HTML(value="")
        # decide (internal only)
        self.ledger_path = w.Text(value=str(data.ledger_path or ""), description="台账文件",
                                  layout=w.Layout(width="520px"))
        self.by = w.Text(value=by, description="处理人")
        self.target = w.Dropdown(options=[], description="改为")
        self.fields_box = w.VBox([])
        self.field_inputs: dict[str, object] = {}
        self.note = w.Textarea(value="", description="说明", layout=w.Layout(width="520px"))
        self.record = w.Button(description="记录处理决定", button_style="warning")
        self.decision_message = w.HTML(value="")
        self.history = w.HTML(value="")
        for name in ("township", "rule", "severity", "status", "min_yuan", "max_yuan", "query", "finding",
                     "person", "open_person", "results", "card", "record", "target", "by", "note",
                     "decision_message", "history", "ledger_path", "export", "pack", "message", "graph", "expand",
                     "explain", "path", "timeline"):
            getattr(self, name).add_class(f"oc-{name.replace('_', '-')}")
        for ctl in (self.township, self.rule, self.severity, self.status, self.min_yuan, self.max_yuan,
                    self.query, self.sort_by, self.descending):
            ctl.observe(lambda _c: self.refresh(), names="value")
        self.finding.observe(lambda _c: self.on_finding(), names="value")
        self.ledger_path.observe(lambda _c: self.on_ledger_path(), names="value")
        self.open_person.on_click(lambda _b: self.show_person())
        self.expand.on_click(lambda _b: self.expand_once())
        self.explain.on_click(lambda _b: self.show_path())
        self.target.observe(lambda _c: self.on_target(), names="value")
        self.record.on_click(lambda _b: self.record_decision())
        self.export.on_click(lambda _b: self.export_current())
        self.pack.on_click(lambda _b: self.build_pack())
        self.refresh()
        if background:
            threading.Thread(target=warm, args=(data,), daemon=True, name="explorer-warm").start()

    # -- layout ---------------------------------------------------------------------------
    def _default_export(self) -> Path:
        return self.data.run_dir / "explorer" / "疑点筛选结果.xlsx"

    @property
    def widget(self):
        w = self.w
        find_box = w.VBox([
            w.HBox([self.township, self.rule]), w.HBox([self.severity, self.status]),
            w.HBox([self.min_yuan, self.max_yuan]), w.HBox([self.query, self.sort_by, self.descending]),
            self.message, self.results, self.finding, w.HBox([self.person, self.open_person]),
            w.HBox([self.export_path, self.export, self.pack])])
        story_box = w.VBox([self.card, self.timeline, self.story_tables])
        net_box = w.VBox([self.graph, w.HBox([self.expand_node, self.expand]), self.ring,
                          w.HBox([self.link_a, self.link_b, self.explain]), self.path])
        tabs = [find_box, story_box, net_box]
        titles = ["查找疑点", "个人情况", "关系网络"]
        if not self.data.public:
            tabs.append(w.VBox([self.ledger_path, self.by, self.target, self.fields_box, self.note,
                                self.record, self.decision_message, self.history]))
            titles.append("处理决定")
        tab = w.Tab(children=tabs)
        for i, t in enumerate(titles):
            tab.set_title(i, t)
        self.tabs = tab
        return tab

    # -- find -----------------------------------------------------------------------------
    def filters(self) -> Filters:
        def money(text):
            t = str(text).replace(",", "").replace("元", "").strip()
            return float(t) if t else None
        return Filters(township=self.township.value, rule=self.rule.value, severity=self.severity.value,
                       status=self.status.value, min_yuan=money(self.min_yuan.value),
                       max_yuan=money(self.max_yuan.value), query=self.query.value)

    def refresh(self) -> None:
        """Apply the filters; fill the results table and the finding list."""
        try:
            flt = self.filters()
        except ValueError:
            self.message.value = "<span style='color:#c00000'>金额应为数字（元），如 1200.50。</span>"
            return
        sel, self.nodes_found = find(self.data, flt)
        sel = sort_findings(sel, self.sort_by.value, not self.descending.value)
        self.selection = sel
        self.message.value = ""
        shown = sel.head(200)
        names = self.data.names_in(shown) if self.data.public else None
        self.results.value = html_table(display_findings(shown, self.data.audience, names=names), max_rows=200,
                                        row_ids=None if self.data.public else sel["finding_id"].tolist(),
                                        total=len(sel))
        labels = self._finding_labels(sel.head(500))
        self.finding.options = list(zip(labels, sel["finding_id"].head(500)))
        self.finding.value = self.finding.options[0][1] if self.finding.options else None
        self.on_finding()

    def _finding_labels(self, sel: pd.DataFrame) -> list[str]:
        shown = mask_frame(sel) if self.data.public else sel
        sev = shown["severity"].map(SEVERITY_ZH).fillna("")
        who = shown["name"].fillna(shown["subject_id"]).fillna("")
        money = shown["amount_fen"].map(lambda v: "" if pd.isna(v) else yuan(v) + "元")
        return (sev + "｜" + shown["township"].fillna("") + "｜" + shown["rule_id"].fillna("") + "｜"
                + who.astype("string") + "｜" + money.astype("string") + "｜" + shown["status"].fillna("")).tolist()

    def current_finding(self) -> pd.Series | None:
        fid = self.finding.value
        if not fid:
            return None
        f = self.data.findings
        hit = f[(f["finding_id"] == fid).fillna(False).to_numpy(bool)]
        return hit.iloc[0] if len(hit) else None

    def _set_persons(self, pids: list[str]) -> None:
        self.person.options = [(_person_label(self.data, p), p) for p in pids]
        self.person.value = pids[0] if pids else None

    def on_finding(self) -> None:
        row = self.current_finding()
        found = [n.split(":", 1)[1] for n in self.nodes_found if n.startswith("person:")]
        if row is None:
            self._set_persons([p for p in found if p in self.data.person_pos])
            return
        pids = persons_of_finding(self.data, row)
        self._set_persons(list(dict.fromkeys([p for p in found if p in pids] + pids)))
        if not self.data.public:
            self.load_decision()

    # -- story and network -------------------------------------------------------------------
    def show_person(self, person_id: str | None = None) -> None:
        """Show a person's story and the network around them."""
        pid = person_id or self.person.value
        if not pid:
            return
        st = person_story(self.data, pid)
        self.story = st
        card = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>"
                       for k, v in st.card.items())
        self.card.value = f"<h3>{html.escape(st.title)}</h3><table class='oc-table'>{card}</table>"
        self.timeline.value = _png(draw_story_timeline(st))
        ev = st.events.drop(columns=["kind"], errors="ignore").rename(columns={
            "period": "年月", "label": "事件", "detail": "说明", "_file": "文件", "_sheet": "工作表", "_row": "行"})
        ev = ev.assign(年月=ev["年月"].astype("string")) if "年月" in ev else ev
        parts = [("享受待遇", st.entitlements), ("涉及本人及其账户、手机号的疑点", st.findings_display),
                 ("疑点依据的原始行", st.sources), ("事件", ev), ("所在关联圈及得分", st.rings)]
        self.story_tables.value = "".join(
            f"<h4>{html.escape(t)}</h4>" + (html_table(df, max_rows=300) if len(df) else "<p>无</p>")
            for t, df in parts)
        self.show_network(f"person:{pid}")
        if hasattr(self, "tabs"):
            self.tabs.selected_index = 1

    def show_network(self, centre: str) -> None:
        self.nb = Neighbourhood.around(edge_index(self.data), centre)
        self._draw()

    def _ring_nodes(self) -> set[str]:
        st = self.story
        m = self.data.ring_members
        if st is None or m.empty:
            return set()
        rings = m.loc[(m["person_id"] == st.person_id).fillna(False).to_numpy(bool), "ring_id"]
        return set("person:" + m.loc[m["ring_id"].isin(rings).to_numpy(bool), "person_id"].astype(str))

    def _draw(self) -> None:
        nb = self.nb
        title = "关系网络：" + node_label(self.data, nb.centre).replace("\n", " ")
        self.graph.value = svg_neighbourhood(self.data, nb, self._ring_nodes(), title)
        opts = [(node_label(self.data, n).replace("\n", " ") + ("（已展开）" if n in nb.expanded else ""), n)
                for n in nb.nodes]
        self.expand_node.options = [o for o in opts if o[1] not in nb.expanded] or opts
        self.expand_node.value = self.expand_node.options[0][1] if self.expand_node.options else None
        self.link_a.options, self.link_b.options = opts, opts
        if len(opts) > 1:
            self.link_a.value, self.link_b.value = opts[0][1], opts[-1][1]
        if self.story is not None:
            self.ring.value = ("<h4>关联圈及得分构成</h4>" + html_table(self.story.rings)
                               if len(self.story.rings) else "")

    def expand_once(self, node: str | None = None) -> list[str]:
        """Add one hop around ``node`` (default the chosen one) and redraw."""
        if self.nb is None:
            return []
        added = self.nb.expand(node or self.expand_node.value)
        self._draw()
        return added

    def show_path(self, a: str | None = None, b: str | None = None) -> pd.DataFrame:
        """Explain why two nodes are linked (shortest path of facts)."""
        a, b = a or self.link_a.value, b or self.link_b.value
        table = path_table(self.data, why_linked(edge_index(self.data), a, b))
        self.path.value = (html_table(table) if len(table) else
                           "<p>在关系网络中未找到这两者之间的关联（不经过共用占位值或超高频节点）。</p>")
        return table

    # -- decide ---------------------------------------------------------------------------
    def _ledger(self) -> str:
        return self.ledger_path.value.strip()

    def on_ledger_path(self) -> None:
        """Another ledger file was entered: re-read the statuses and the decision panel."""
        path = self._ledger()
        self.data.ledger_path = Path(path) if path else None
        self.data.findings["status"] = decide.statuses(self.data.ledger_path, self.data.findings["finding_id"])
        self.refresh()

    def load_decision(self) -> None:
        """Fill the target statuses and history of the chosen finding."""
        row = self.current_finding()
        if row is None or not decide.ledger_available():
            self.decision_message.value = "" if decide.ledger_available() else decide.LEDGER_MISSING_ZH
            return
        item = decide.current(self._ledger(), row["finding_id"]) or {"status": decide.PENDING}
        self.current_status = item["status"]
        allowed = decide.allowed_transitions(item)
        self.target.options = list(allowed)
        self.target.value = allowed[0] if allowed else None
        self.on_target()
        hist = decide.history(self._ledger(), row["finding_id"])
        self.history.value = (f"<p>当前状态：{html.escape(item['status'])}</p>"
                              + (html_table(hist) if len(hist) else "<p>暂无处理记录</p>"))

    def on_target(self) -> None:
        """Show the fields the field table requires for the chosen transition."""
        w = self.w
        to = self.target.value
        if not to or not decide.ledger_available():
            self.fields_box.children = []
            self.field_inputs = {}
            return
        inputs = {}
        for field, label, kind in decide.required_fields(getattr(self, "current_status", decide.PENDING), to):
            if kind == "organ":
                ctl = w.Dropdown(options=["", *decide.field_choices(field)], value="", description=label)
            else:
                hint = {"date": "YYYY-MM-DD", "fen": "元"}.get(kind, "")
                ctl = w.Text(value="", placeholder=hint, description=label)
            ctl.add_class(f"oc-field-{field.replace('_', '-')}")
            inputs[field] = ctl
        self.field_inputs = inputs
        self.fields_box.children = list(inputs.values())

    def record_decision(self) -> bool:
        """Record the chosen transition with its fields; the reason is shown when refused."""
        row = self.current_finding()
        if row is None:
            self.decision_message.value = "<span style='color:#c00000'>请先选择一条疑点。</span>"
            return False
        fields = {k: c.value for k, c in self.field_inputs.items()}
        try:
            decide.record(self._ledger(), row["finding_id"], self.target.value, fields, self.by.value,
                          self.note.value, findings=self.data.findings, finding_rows=self.data.finding_rows,
                          run_id=self.data.meta.get("run_id", ""), period=self.data.meta.get("period"))
        except decide.DecisionError as exc:
            self.decision_message.value = f"<span style='color:#c00000'>未记录：{html.escape(str(exc))}</span>"
            return False
        fid = row["finding_id"]
        self.decision_message.value = (f"<span style='color:#2e7d32'>已记录：疑点 {html.escape(fid)} "
                                       f"改为“{html.escape(self.target.value)}”。</span>")
        f = self.data.findings
        f.loc[(f["finding_id"] == fid).fillna(False).to_numpy(bool), "status"] = self.target.value
        self.load_decision()
        return True

    # -- export and pack ------------------------------------------------------------------------
    def export_current(self) -> Path | None:
        try:
            path = Path(self.export_path.value)
            path.parent.mkdir(parents=True, exist_ok=True)
            out = export_selection(self.data, self.selection, path)
        except OSError as exc:
            self.message.value = f"<span style='color:#c00000'>导出失败：{html.escape(str(exc))}</span>"
            return None
        self.message.value = f"已导出 {len(self.selection)} 条到 {html.escape(str(out))}"
        return out

    def build_pack(self):
        row = self.current_finding()
        if row is None:
            self.message.value = "请先选择一条疑点。"
            return None
        try:
            path, msg = build_pack(self.data, row["finding_id"], self.data.run_dir / "packs")
        except Exception as exc:  # the pack builder is another module: show its reason
            logger.warning("evidence pack failed: %s", exc)
            path, msg = None, f"证据包生成失败：{exc}"
        self.message.value = html.escape(msg)
        return path


def build_explorer(run_dir, audience: str = "internal", work_dir=None, ledger_path=None,
                   by: str = "") -> ExplorerApp:
    """Open a run and build its explorer; display ``app.widget`` in a notebook."""
    return ExplorerApp(open_run(run_dir, work_dir, audience, ledger_path), by=by)


def batch_view(run_dir, audience: str = "internal", township: str = "", rule: str = "",
               person_id: str = "", work_dir=None, max_rows: int = 100) -> str:
    """HTML for batch execution (papermill): the filtered findings and, when
    ``person_id`` is given, that person's story tables. No widget is created."""
    data = open_run(run_dir, work_dir, audience)
    sel, _ = find(data, Filters(township=township or None, rule=rule or None))
    shown = sel.head(max_rows)
    names = data.names_in(shown) if data.public else None
    out = ["<h3>疑点</h3>", html_table(display_findings(shown, audience, names=names), total=len(sel))]
    if person_id:
        st = person_story(data, person_id)
        out += [f"<h3>{html.escape(st.title)}</h3>",
                html_table(pd.DataFrame({"项目": list(st.card), "内容": list(st.card.values())})),
                "<h4>涉及本人及其账户、手机号的疑点</h4>", html_table(st.findings_display),
                "<h4>疑点依据的原始行</h4>", html_table(st.sources)]
    return "".join(out)


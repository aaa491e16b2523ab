"""Interactive explorer for investigators (ipywidgets in JupyterLab).

The library functions return frames and are usable without widgets;
:func:`build_explorer` wires them to controls. In batch mode (papermill) the
notebook calls the functions once with its parameters instead of building
widgets, so execution never waits on a control and the output holds tables,
not widget reprs (REAL_WORLD_CASES B30).
"""

from __future__ import annotations

import pandas as pd

from . import review

__all__ = ["filter_findings", "person_card", "build_explorer"]

ALL = "（全部）"


def filter_findings(run: review.Run, township: str | None = None, rule_id: str | None = None,
                    text: str | None = None, audience: str = "internal") -> pd.DataFrame:
    """Findings filtered by township, rule and a free-text search.

    ``text`` matches ``subject_id``, ``related_ids``, ``name`` or ``evidence``
    (case-insensitive substring). Returns the standard findings columns,
    highest severity and money first. For ``audience="public"`` the findings are
    masked first (``Run.shown``) and the search runs over the masked forms only, so
    a full ID or name typed in finds nothing it could confirm.
    """
    f = review.findings_for(run, None if township in (None, "", ALL) else township)
    if rule_id not in (None, "", ALL):
        f = f[f["rule_id"] == rule_id]
    f = run.shown(f, audience)
    if text:
        needle = str(text).strip().lower()
        hay = (f["subject_id"].fillna("") + " " + f["related_ids"].fillna("") + " "
               + f["name"].fillna("") + " " + f["evidence"].fillna("")).str.lower()
        f = f[hay.str.contains(needle, regex=False).fillna(False)]
    return f.reset_index(drop=True)


def person_card(run: review.Run, person_id: str, audience: str = "internal") -> dict[str, pd.DataFrame]:
    """Everything the run knows about one person.

    ``audience="public"``: ``person_id`` is matched against the *masked* IDs only
    (``4201**********0138``; a full ID finds nothing), and every frame of the card
    is masked (``Run.shown``). Several people may share a masked ID: the card then
    covers all of them.

    Returns
    -------
    dict
        ``payouts`` (their payout rows with source file/sheet/row), ``findings``
        (findings naming them as subject or related), ``ring`` (the ring they
        belong to, one row or empty), ``links`` (identifiers shared with others:
        ``node, kind, degree``), ``roster`` (their roster rows).
    """
    if audience == "public":
        return _public_card(run, str(person_id).strip().upper())
    pid = str(person_id).strip().upper()
    payouts = run.payouts
    out = {"payouts": payouts[payouts["person_id"] == pid].reset_index(drop=True)}
    f = run.analysis.findings
    out["findings"] = f[(f["subject_id"] == pid) |
                        f["related_ids"].fillna("").str.contains(pid, regex=False)].reset_index(drop=True)
    roster = run.table("roster")
    out["roster"] = (roster[roster["person_id"] == pid].reset_index(drop=True)
                     if roster is not None else pd.DataFrame())
    out["ring"] = pd.DataFrame()
    out["links"] = pd.DataFrame(columns=["node", "kind", "degree"])
    net = run.analysis.network
    if net is not None and hasattr(net, "graph"):
        from ..graph import neighbourhood, ring_of
        rid = ring_of(net, pid)
        rings = run.analysis.network_table("rings")
        if rid and not rings.empty:
            out["ring"] = rings[rings["ring_id"] == rid].reset_index(drop=True)
        try:
            sub = neighbourhood(net, pid, k=1)
        except Exception:  # an unknown node has no neighbourhood
            sub = None
        if sub is not None:
            rows = [{"node": n, "kind": str(n).split(":", 1)[0], "degree": net.graph.degree(n)}
                    for n in sub.nodes if not str(n).endswith(pid)]
            out["links"] = pd.DataFrame(rows, columns=["node", "kind", "degree"])
    return out


def _public_card(run: review.Run, masked: str) -> dict[str, pd.DataFrame]:
    """:func:`person_card` for the public audience: look-up by masked ID, masked output."""
    from ..core.mask import mask_id

    people = run.payouts["person_id"].dropna().astype("string")
    hits = people[mask_id(people) == masked].unique() if "*" in masked else []
    cards = [person_card(run, pid) for pid in hits]
    out = {}
    for key in ("payouts", "findings", "roster", "ring", "links"):
        frames = [c[key] for c in cards if len(c[key])]
        joined = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        out[key] = run.shown(joined, "public") if len(joined) else joined
    return out


def build_explorer(run: review.Run, audience: str = "internal"):
    """An ipywidgets panel: township and rule pickers, a search box, findings and a person card."""
    import ipywidgets as w
    from IPython.display import display

    f = run.analysis.findings
    township = w.Dropdown(options=[ALL] + sorted(f["township"].dropna().unique()), description="街道")
    rule = w.Dropdown(options=[ALL] + sorted(f["rule_id"].dropna().unique()), description="规则")
    search = w.Text(placeholder="身份证号、账号、姓名或关键词", description="查找")
    person = w.Text(placeholder=("输入脱敏身份证号（如 4201**********0138）查看个人详情"
                                 if audience == "public" else "输入身份证号查看个人详情"),
                    description="个人")
    out_findings, out_person = w.Output(), w.Output()

    def refresh(*_):
        with out_findings:
            out_findings.clear_output()
            table = filter_findings(run, township.value, rule.value, search.value, audience)
            display(w.HTML(f"<b>共 {len(table)} 条疑点</b>（最多显示 100 条）"))
            display(table.head(100))

    def show_person(*_):
        with out_person:
            out_person.clear_output()
            if person.value.strip():
                for title, frame in person_card(run, person.value, audience).items():
                    display(w.HTML(f"<h4>{title}</h4>"))
                    display(frame.head(50))

    for control in (township, rule, search):
        control.observe(refresh, names="value")
    person.observe(show_person, names="value")
    refresh()
    return w.VBox([w.HBox([township, rule, search]), out_findings, person, out_person])

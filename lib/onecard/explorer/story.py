"""A person's story: who they are, what they were entitled to, what was due and paid
month by month with the events, every finding that names them or their own
accounts and phones, and the source rows behind each finding.

Rows come from the run's per-person row indexes (:class:`~.data.RowIndex`), so a
story is a handful of slices, not a scan of the payout table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..core.findings import yuan
from ..core.mask import mask_account, mask_frame, mask_id, mask_name, mask_phone
from ..views.timeline import person_timeline
from .data import ExplorerData
from .find import display_findings

__all__ = ["Story", "person_story", "source_rows", "ROLE_ZH", "draw_story_timeline"]

ROLE_ZH = {"beneficiary": "补贴对象", "holder": "持卡人", "official": "公职人员/村干部",
           "guardian": "监护人", "relative": "亲属", "other": "其他"}
TIMELINE_TABLES = ("payouts", "entitlements", "roster", "deaths", "moves", "custody")
_CITE = r"(?P<file>[^；（）/：]+?)(?:/(?P<sheet>[^；（）]+?))? 第(?P<row>\d+)行"


@dataclass
class Story:
    """Everything about one person, ready for display (masked for public).

    Attributes
    ----------
    person_id : str
        The real ID (kept for lookups; never displayed to the public audience).
    card : dict
        Chinese label -> value (姓名, 身份证号, 街道(乡镇), 村(社区), 户, 角色, 标记, 账户, 手机号).
    entitlements : DataFrame
        Chinese headers: 补贴项目, 起始年月, 终止年月, 月标准(元), 状态, 来源.
    months, events : DataFrame
        From :func:`onecard.views.timeline.person_timeline` (money in fen).
    findings : DataFrame
        Raw findings naming the person, their accounts or phones.
    findings_display : DataFrame
        The same for reading (Chinese headers, 元, masked for public), plus 关联方式.
    sources : DataFrame
        ``疑点编号, 表, 文件, 工作表, 行`` for every source row of those findings.
    rings : DataFrame
        The person's rings with their score parts.
    """

    person_id: str
    card: dict
    entitlements: pd.DataFrame
    months: pd.DataFrame
    events: pd.DataFrame
    findings: pd.DataFrame
    findings_display: pd.DataFrame
    sources: pd.DataFrame
    rings: pd.DataFrame = field(default_factory=pd.DataFrame)
    title: str = ""


def _source_frame(data: ExplorerData, findings: pd.DataFrame) -> pd.DataFrame:
    """``finding_id, table, file, sheet, row`` from ``finding_rows.parquet`` when the run
    wrote it, else from the citations in the evidence sentence (which may be cut at
    a few rows: "等N行")."""
    ids = findings["finding_id"].astype("string")
    fr = data.finding_rows
    if fr is not None and not fr.empty:
        r = fr[fr["finding_id"].astype("string").isin(ids).to_numpy(bool)]
        return pd.DataFrame({"finding_id": r["finding_id"].to_numpy(), "table": r.get("table"),
                             "file": r["_file"].to_numpy(), "sheet": r["_sheet"].to_numpy(),
                             "row": r["_row"].to_numpy()})
    ev = findings["evidence"].astype("string").fillna("")
    ev.index = ids.to_numpy()
    ext = ev.str.extractall(_CITE)
    if ext.empty:
        return pd.DataFrame(columns=["finding_id", "table", "file", "sheet", "row"])
    ext = ext.reset_index(level=1, drop=True).rename_axis("finding_id").reset_index()
    return pd.DataFrame({"finding_id": ext["finding_id"], "table": pd.NA, "file": ext["file"],
                         "sheet": ext["sheet"].fillna(""), "row": pd.to_numeric(ext["row"])})


def source_rows(data: ExplorerData, findings: pd.DataFrame) -> pd.DataFrame:
    """Source rows behind findings, for reading: ``疑点编号, 表, 文件, 工作表, 行``
    (疑点编号 replaced by 序号 for the public audience)."""
    s = _source_frame(data, findings).drop_duplicates()
    out = pd.DataFrame({"疑点编号": s["finding_id"], "表": s["table"], "文件": s["file"],
                        "工作表": s["sheet"], "行": s["row"]})
    if data.public:
        seq = {f: i + 1 for i, f in enumerate(findings["finding_id"])}
        out["疑点编号"] = out["疑点编号"].map(seq).map(lambda v: f"第{v}条")
    return out.fillna("").reset_index(drop=True)


def _how(findings: pd.DataFrame, pid: str, own: list[str]) -> pd.Series:
    subj = findings["subject_id"].astype("string")
    rel = findings["related_ids"].astype("string").fillna("")
    how = pd.Series("关联方", index=findings.index, dtype="string")
    how = how.mask(subj.isin(own).fillna(False), "本人账户/手机号")
    how = how.mask((subj == pid).fillna(False), "本人")
    in_rel = rel.str.contains(pid, regex=False).fillna(False) & (subj != pid).fillna(True)
    return how.mask(in_rel & (how == "关联方"), "关联方（被列为关联对象）")


def person_story(data: ExplorerData, person_id: str) -> Story:
    """Assemble the story of one person.

    Parameters
    ----------
    person_id : str
        18-character resident ID (as stored in the run).

    Raises
    ------
    KeyError
        Never: an unknown person gives an empty story with a 未找到 card.
    """
    pid = str(person_id).strip().upper()
    pos = data.person_pos.get(pid)
    prow = data.persons.iloc[pos] if pos is not None else pd.Series(dtype=object)
    nodes = data.own_nodes(pid)
    own = [n.split(":", 1)[1] for n in nodes]
    accounts = [n[len("account:"):] for n in nodes if n.startswith("account:")]
    phones = [n[len("phone:"):] for n in nodes if n.startswith("phone:")]
    tables = {t: data.row_index(t).rows(pid) for t in TIMELINE_TABLES}
    cards = data.table("cards")
    if cards is not None and "account_no" in cards.columns:
        tables["cards"] = pd.concat([data.row_index("cards", "holder_id").rows(pid)]
                                    + [data.row_index("cards", "account_no").rows(a) for a in accounts])
    recon = data.row_index("recon").rows(pid) if data.recon is not None else None
    months, events = person_timeline(pid, recon, tables)
    found = data.findings_about([pid, *own])
    display = display_findings(found, data.audience, names=data.names_in(found) if data.public else None)
    display.insert(0, "关联方式", _how(found, pid, own).to_numpy())
    ent = tables["entitlements"]
    entitlements = pd.DataFrame({
        "补贴项目": ent.get("subsidy"), "起始年月": ent.get("start_month"), "终止年月": ent.get("end_month"),
        "月标准(元)": ent["monthly_amount"].map(lambda v: "" if pd.isna(v) else yuan(v))
        if "monthly_amount" in ent else None,
        "状态": ent.get("status"),
        "来源": (ent["_file"].astype("string") + " 第" + ent["_row"].astype("string") + "行")
        if "_file" in ent else None}, index=ent.index).astype(object).fillna("").reset_index(drop=True)
    name = prow.get("name", "")
    name = "" if pd.isna(name) else str(name)
    card = {"姓名": name, "身份证号": pid, "街道(乡镇)": prow.get("township", ""),
            "村(社区)": prow.get("village", ""), "户": prow.get("household", ""),
            "角色": ROLE_ZH.get(str(prow.get("role", "")), prow.get("role", "")),
            "标记": prow.get("flags", ""), "账户": "、".join(accounts), "手机号": "、".join(phones)}
    if pos is None:
        card["标记"] = "未在本次运行的人员中找到"
    rings = _rings_of(data, pid)
    if data.public:
        card["姓名"] = str(mask_name(pd.Series([name], dtype="string"))[0]) if name else ""
        card["身份证号"] = str(mask_id(pd.Series([pid], dtype="string"))[0])
        card["户"] = ""
        card["账户"] = "、".join(mask_account(pd.Series(accounts, dtype="string")).tolist())
        card["手机号"] = "、".join(mask_phone(pd.Series(phones, dtype="string")).tolist())
        events = mask_frame(events.rename(columns={"detail": "account_no"})).rename(
            columns={"account_no": "detail"}) if not events.empty else events
        rings = rings.drop(columns=["ring_id"], errors="ignore")
    card = {k: ("" if v is None or (not isinstance(v, str) and pd.isna(v)) else v) for k, v in card.items()}
    return Story(pid, card, entitlements, months, events, found, display,
                 source_rows(data, found), rings, title=f"{card['姓名']}（{card['身份证号']}）")


def _rings_of(data: ExplorerData, pid: str) -> pd.DataFrame:
    """The person's rings: 关联圈, 街道, 户数, 人数, 金额(元), 总分 and each score part."""
    m, r = data.ring_members, data.rings
    if m.empty or r.empty:
        return pd.DataFrame()
    ids = m.loc[(m["person_id"].astype("string") == pid).fillna(False).to_numpy(bool), "ring_id"]
    return ring_table(r[r["ring_id"].isin(ids).to_numpy(bool)])


#: Score parts of a ring (graph.rings PARTS) and their Chinese labels.
SCORE_PARTS_ZH = {"households": "户数", "persons": "人数", "money_fen": "金额", "shared_addresses": "共用地址",
                  "status_members": "死亡/迁出/不在库成员", "officials": "公职人员", "bulk_opened": "批量开卡"}


def ring_table(rings: pd.DataFrame) -> pd.DataFrame:
    """Rings for reading: id, township, households, persons, money (元), score and its parts."""
    if rings.empty:
        return pd.DataFrame()
    out = pd.DataFrame({"关联圈": rings["ring_id"], "街道(乡镇)": rings.get("township"),
                        "户数": rings.get("households"), "人数": rings.get("persons"),
                        "涉及金额（元）": rings["money_fen"].map(yuan) if "money_fen" in rings else None,
                        "总分": rings.get("score")})
    for part, label in SCORE_PARTS_ZH.items():
        if f"score_{part}" in rings:
            out[f"得分·{label}"] = rings[f"score_{part}"]
    return out.reset_index(drop=True)


def draw_story_timeline(story: Story):
    """The story's timeline chart (matplotlib Figure), titled with the displayed name."""
    from ..views.timeline import draw_timeline
    return draw_timeline(story.months, story.events, title=story.title)

"""Open a finished run fast and index it for search and person lookups.

:func:`open_run` reads only parquet/JSON (findings, the network's person and edge
tables, rings) and builds three indexes, all vectorised:

- the **search index**: one row per searchable key (resident ID, name in several
  folded forms incl. pinyin, account, phone) -> the node it names
  (``person:<id>``, ``account:<no>``, ``phone:<no>``); for the public audience
  it holds masked forms only, so only masked forms can be searched;
- the **involvement index**: finding row -> every identifier it names (subject and
  related ids), so "every finding about X or X's accounts and phones" is one
  ``isin``;
- the **row index** of each intake table by person (built on first use), so a
  person's rows are a slice, not a scan.

Intake tables and the reconciliation are read on first use (a person view).
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import RunError
from ..core.log import logger
from ..core.mask import mask_account, mask_id, mask_name, mask_phone

__all__ = ["ExplorerData", "open_run", "fold_text", "pinyin_forms", "RowIndex", "OWN_EDGE_KINDS"]

#: Edge kinds that make an account or phone "theirs" for a person's story: a
#: finding about the account is part of the holder's story (pooled-account holder).
OWN_EDGE_KINDS = ("holds", "paid_into", "official_account", "official_phone", "contact_phone")

#: Middle dots and look-alikes folded out of names (少数民族姓名 阿依古丽·买买提).
_DOTS = "·•.．・‧･⋅∙"
#: Variant / traditional characters common in names, folded to one form for search.
VARIANTS = {
    "張": "张", "劉": "刘", "陳": "陈", "黃": "黄", "趙": "赵", "吳": "吴", "鄭": "郑", "楊": "杨",
    "孫": "孙", "許": "许", "馬": "马", "蕭": "萧", "葉": "叶", "謝": "谢", "韓": "韩", "馮": "冯",
    "鄧": "邓", "蘇": "苏", "盧": "卢", "蔣": "蒋", "羅": "罗", "錢": "钱", "譚": "谭", "薑": "姜",
    "鍾": "钟", "顧": "顾", "龍": "龙", "華": "华", "國": "国", "軍": "军", "東": "东", "蘭": "兰",
    "鳳": "凤", "寶": "宝", "嶽": "岳", "峯": "峰", "喆": "哲", "堃": "坤", "甯": "宁", "淩": "凌",
    "煒": "炜", "偉": "伟", "麗": "丽", "紅": "红", "輝": "辉", "傑": "杰", "穎": "颖", "慶": "庆",
    "雲": "云", "強": "强", "彊": "强", "栢": "柏", "秊": "年", "埜": "野", "玅": "妙", "冲": "冲",
}
#: Reconciliation columns read for a person's timeline (``views.timeline.person_timeline``).
RECON_COLUMNS = ["person_id", "subsidy", "period", "standard_fen", "paid_fen", "failed_fen", "entitled",
                 "stopped", "stop_event"]
#: (table, key column) indexes built by :meth:`ExplorerData.warm`.
WARM_INDEXES = [("recon", "person_id"), ("payouts", "person_id"), ("entitlements", "person_id"),
                ("roster", "person_id"), ("deaths", "person_id"), ("moves", "person_id"),
                ("custody", "person_id"), ("cards", "holder_id"), ("cards", "account_no")]
_LOCK = threading.RLock()
_TRANS = str.maketrans({**{d: "" for d in _DOTS}, **VARIANTS, " ": "", "\u3000": ""})


def fold_text(values: pd.Series) -> pd.Series:
    """Search form of names/identifiers: NFKC (full-width -> half-width), variant
    characters folded, middle dots and spaces removed, lower case. Vectorised per value."""
    s = values.astype("string").fillna("")
    return s.map(lambda v: unicodedata.normalize("NFKC", v).translate(_TRANS).lower()).astype("string")


def pinyin_forms(names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Full pinyin (``zhangsanfeng``) and initials (``zsf``) of names.

    Pinyin is computed once per distinct character (pypinyin, normal style), then
    joined per name, so 20,000 names cost a few thousand lookups.
    """
    from pypinyin import Style, lazy_pinyin

    s = fold_text(names)
    chars = sorted(set("".join(s.tolist())))
    full = {c: (lazy_pinyin(c, style=Style.NORMAL) or [c])[0].lower() for c in chars}
    init = {c: p[:1] for c, p in full.items()}
    t_full, t_init = str.maketrans(full), str.maketrans(init)
    return (s.map(lambda v: v.translate(t_full)).astype("string"),
            s.map(lambda v: v.translate(t_init)).astype("string"))


class RowIndex:
    """Rows of a frame grouped by one key column, for O(1) lookups.

    Built once with one ``factorize`` and one stable ``argsort``; the frame is
    kept sorted by the key, so ``rows(key)`` is a zero-copy slice (empty when the
    key is unknown). Rows whose key is missing are left out.
    """

    def __init__(self, frame: pd.DataFrame | None, column: str):
        if frame is None or frame.empty or column not in frame.columns:
            self.frame = frame.iloc[:0] if frame is not None else pd.DataFrame()
            self._pos, self._start = {}, np.array([0])
            return
        codes, uniques = pd.factorize(frame[column].astype("string"))
        self._pos = {str(u): i for i, u in enumerate(uniques)}
        ok = codes >= 0
        order = np.flatnonzero(ok)[np.argsort(codes[ok], kind="stable")]
        self.frame = frame.take(order)
        counts = np.bincount(codes[ok], minlength=len(uniques))
        self._start = np.concatenate([[0], np.cumsum(counts)])

    def rows(self, key: str) -> pd.DataFrame:
        i = self._pos.get(str(key))
        if i is None:
            return self.frame.iloc[:0]
        return self.frame.iloc[self._start[i]:self._start[i + 1]]


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def work_folder(run_dir: Path, manifest: dict, work_dir: str | Path | None = None) -> Path:
    """The folder holding ``intake/`` and ``analysis/``: ``work_dir`` if given, else the
    work folder recorded in the manifest (public runs), else ``run_dir``."""
    if work_dir:
        return Path(work_dir)
    for key in ("work_dir", "work", "work_folder"):
        value = manifest.get(key)
        if isinstance(value, dict):
            value = value.get("path")
        if value:
            p = Path(value)
            return p if p.is_absolute() else run_dir / p
    return run_dir


def load_network_tables(analysis: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``edges`` and ``persons`` of a run's network (``person_id`` as a column).

    Reads ``analysis/network/edges.parquet`` and ``persons.parquet`` (the network
    stored as data by ``onecard.analysis.district.save_network``). Nothing
    executable is ever read: a run without them (or an old run holding only a
    ``network.pkl``) has an empty network in the explorer.
    """
    folder = analysis / "network"
    e_path, p_path = folder / "edges.parquet", folder / "persons.parquet"
    if e_path.exists() and p_path.exists():
        persons = pd.read_parquet(p_path)
        if "person_id" not in persons.columns:
            persons = persons.reset_index()
        edges = pd.read_parquet(e_path)
        for c in ("kind", "source", "rows"):
            if c in edges.columns:
                edges[c] = edges[c].astype("string")
        return edges, persons
    if (analysis / "network.pkl").exists():
        logger.warning("explorer: %s ignored (a pickle is never loaded); re-run to store the network as data",
                       analysis / "network.pkl")
    empty_e = pd.DataFrame({c: pd.Series(dtype="string") for c in ("u", "v", "kind", "source", "rows")})
    return empty_e, pd.DataFrame({c: pd.Series(dtype="string") for c in ("person_id", "name")})


def split_ids(values: pd.Series) -> pd.DataFrame:
    """``;``-joined identifiers -> long frame ``pos, ident`` (pos = position in ``values``)."""
    s = values.astype("string").fillna("").reset_index(drop=True)
    long = s.str.split(";").explode()
    long = long.astype("string").str.strip()
    out = pd.DataFrame({"pos": long.index.to_numpy(), "ident": long.to_numpy()})
    return out[out["ident"].fillna("") != ""].reset_index(drop=True)


@dataclass
class ExplorerData:
    """One run opened for the explorer.

    Attributes
    ----------
    run_dir, work_dir : Path
        The run folder and the folder holding ``intake/`` and ``analysis/``.
    audience : str
        ``internal`` or ``public`` (masked values only, no decisions).
    manifest, meta : dict
    findings : DataFrame
        Standard findings columns (money ``amount_fen`` integer fen), plus
        ``status`` (ledger status, ``待核实`` when not in the ledger).
    rule_titles : dict
        ``rule_id -> title_zh``.
    persons : DataFrame
        ``network/persons``: ``person_id, name, township, village, household, role, flags...``.
    edges : DataFrame
        ``network/edges``: ``u, v, kind, source, first, last, amount_fen, n_rows, rows, link``.
    rings, ring_members : DataFrame
    search_index : DataFrame
        ``key, node``: every searchable form (masked forms only for public).
    involvement : DataFrame
        ``pos, ident``: finding row position -> identifier it names.
    """

    run_dir: Path
    work_dir: Path
    audience: str
    manifest: dict
    meta: dict
    findings: pd.DataFrame
    rule_titles: dict
    persons: pd.DataFrame
    edges: pd.DataFrame
    rings: pd.DataFrame
    ring_members: pd.DataFrame
    search_index: pd.DataFrame = field(repr=False, default=None)
    involvement: pd.DataFrame = field(repr=False, default=None)
    ledger_path: Path | None = None

    @property
    def public(self) -> bool:
        return self.audience == "public"

    # -- lazily read tables -------------------------------------------------------------
    def table(self, name: str) -> pd.DataFrame | None:
        """A canonical intake table (None when the run did not have it); cached."""
        cache = self.__dict__.setdefault("_tables", {})
        with _LOCK:
            if name not in cache:
                path = self.work_dir / "intake" / f"{name}.parquet"
                cache[name] = pd.read_parquet(path) if path.exists() else None
        return cache[name]

    @cached_property
    def recon(self) -> pd.DataFrame | None:
        """The reconciliation, only the columns a person's timeline needs."""
        path = self.work_dir / "analysis" / "recon.parquet"
        if not path.exists():
            return None
        import pyarrow.parquet as pq

        have = set(pq.read_schema(path).names)
        return pd.read_parquet(path, columns=[c for c in RECON_COLUMNS if c in have])

    @cached_property
    def finding_rows(self) -> pd.DataFrame | None:
        """``analysis/finding_rows.parquet`` (finding x source row) when the run wrote it."""
        path = self.work_dir / "analysis" / "finding_rows.parquet"
        return pd.read_parquet(path) if path.exists() else None

    def row_index(self, table: str, column: str = "person_id") -> RowIndex:
        """Rows of an intake table (or ``recon``) by ``column``, built on first use
        (thread-safe: :meth:`warm` may be building it in the background)."""
        cache = self.__dict__.setdefault("_row_index", {})
        key = (table, column)
        with _LOCK:
            if key not in cache:
                frame = self.recon if table == "recon" else self.table(table)
                cache[key] = RowIndex(frame, column)
        return cache[key]

    @property
    def pinyin_index(self) -> pd.DataFrame:
        """Pinyin keys of every name (internal audience only; built on first use or by
        :meth:`warm`)."""
        with _LOCK:
            if "_pinyin" not in self.__dict__:
                self.__dict__["_pinyin"] = (_pinyin_index(self.persons) if not self.public
                                            else pd.DataFrame({"key": pd.Series(dtype="string"),
                                                               "node": pd.Series(dtype="string")}))
        return self.__dict__["_pinyin"]

    def warm(self) -> None:
        """Build every per-person index a story needs and the pinyin keys (called in a
        background thread when the explorer opens, so the first view does not pay)."""
        _ = self.pinyin_index
        for table, column in WARM_INDEXES:
            self.row_index(table, column)
        with _LOCK:
            _ = self.own_identifiers

    @cached_property
    def finding_names(self) -> pd.Series:
        """Search form of each finding's ``name`` (masked first for the public audience)."""
        names = self.findings["name"]
        return fold_text(mask_name(names) if self.public else names)

    @cached_property
    def person_pos(self) -> dict:
        """``person_id -> row position`` in :attr:`persons`."""
        return {str(p): i for i, p in enumerate(self.persons["person_id"].astype("string"))}

    @cached_property
    def own_identifiers(self) -> RowIndex:
        """Edges whose ``u`` is a person and kind is one of :data:`OWN_EDGE_KINDS`, by ``u``."""
        e = self.edges
        own = e[e["kind"].astype("string").isin(OWN_EDGE_KINDS).fillna(False).to_numpy(bool)]
        return RowIndex(own, "u")

    def own_nodes(self, person_id: str) -> list[str]:
        """The person's own accounts and phones as node ids (``account:<no>``,
        ``phone:<no>``), plus the reserved phones of the accounts they hold."""
        own = self.own_identifiers.rows(f"person:{person_id}")
        nodes = own["v"].astype("string")
        accounts = nodes[nodes.str.startswith("account:").fillna(False)].tolist()
        phones = nodes[nodes.str.startswith("phone:").fillna(False)].tolist()
        if accounts:
            e = self.edges
            res = e[(e["kind"] == "reserved_phone").fillna(False).to_numpy(bool)
                    & e["u"].isin(accounts).fillna(False).to_numpy(bool)]
            phones += res["v"].astype(str).tolist()
        return sorted(set(accounts + phones))

    def owners_of(self, nodes: list[str]) -> set[str]:
        """Persons (``person:<id>``) who hold/use the given account or phone nodes,
        including the holders of accounts a phone is reserved on."""
        if not nodes:
            return set()
        e = self.edges
        kinds = e["kind"].astype("string")
        res = e[(kinds == "reserved_phone").fillna(False).to_numpy(bool) & e["v"].isin(nodes).fillna(False).to_numpy(bool)]
        targets = set(nodes) | set(res["u"].astype(str))
        own = e[kinds.isin(["holds", "official_account", "official_phone", "contact_phone"]).fillna(False).to_numpy(bool)
                & e["v"].isin(list(targets)).fillna(False).to_numpy(bool)]
        return set(own["u"].astype(str))

    def identifiers_of(self, person_id: str) -> list[str]:
        """Bare values (no prefix) of :meth:`own_nodes`."""
        return [n.split(":", 1)[1] for n in self.own_nodes(person_id)]

    def names_in(self, findings: pd.DataFrame) -> list[str]:
        """Names of every person the findings name (subject, related, holders of
        subject accounts/phones) and the findings' own ``name`` values: what may
        appear in their evidence sentences and must be masked for the public."""
        inv = self.involvement
        pos = np.flatnonzero(self.findings.index.isin(findings.index))
        idents = inv.loc[inv["pos"].isin(pos).to_numpy(bool), "ident"]
        nodes = ["person:" + i for i in idents] + list(self.owners_of(
            [f"{k}:{i}" for k in ("account", "phone") for i in idents]))
        pids = [n.split(":", 1)[1] for n in nodes]
        at = [self.person_pos[p] for p in pids if p in self.person_pos]
        names = self.persons["name"].iloc[at].dropna().astype(str).tolist() if at else []
        return sorted(set(names) | set(findings["name"].dropna().astype(str)))

    def findings_about(self, identifiers) -> pd.DataFrame:
        """Findings naming any of ``identifiers`` as subject or related party."""
        inv = self.involvement
        pos = inv.loc[inv["ident"].isin(list(identifiers)).to_numpy(bool), "pos"].unique()
        return self.findings.iloc[np.sort(pos)]


def _pinyin_index(persons: pd.DataFrame) -> pd.DataFrame:
    """``key, node`` rows: full pinyin and initials of every person's name."""
    node = "person:" + persons["person_id"].astype("string")
    full, init = pinyin_forms(persons["name"].astype("string"))
    idx = pd.concat([pd.DataFrame({"key": full, "node": node}), pd.DataFrame({"key": init, "node": node})],
                    ignore_index=True)
    return idx[idx["key"].fillna("") != ""].drop_duplicates().reset_index(drop=True)


def _search_index(persons: pd.DataFrame, edges: pd.DataFrame, public: bool) -> pd.DataFrame:
    """``key, node`` rows: resident ID, folded name, account, phone (masked forms for
    public). Pinyin keys are a separate index (:attr:`ExplorerData.pinyin_index`)."""
    pid = persons["person_id"].astype("string")
    node = "person:" + pid
    names = persons["name"].astype("string") if "name" in persons.columns else pd.Series(pd.NA, index=pid.index)
    parts = []
    if public:
        parts.append(pd.DataFrame({"key": mask_id(pid).str.lower(), "node": node}))
        parts.append(pd.DataFrame({"key": fold_text(mask_name(names)), "node": node}))
    else:
        parts.append(pd.DataFrame({"key": pid.str.lower(), "node": node}))
        parts.append(pd.DataFrame({"key": fold_text(names), "node": node}))
    ident = pd.concat([edges["u"], edges["v"]], ignore_index=True).astype("string").drop_duplicates()
    for kind, masker in (("account", mask_account), ("phone", mask_phone)):
        nodes = ident[ident.str.startswith(kind + ":").fillna(False)]
        value = nodes.str.slice(len(kind) + 1)
        parts.append(pd.DataFrame({"key": (masker(value) if public else value).str.lower(),
                                   "node": nodes}))
    idx = pd.concat(parts, ignore_index=True)
    idx = idx[idx["key"].fillna("") != ""].drop_duplicates()
    return idx.reset_index(drop=True)


def open_run(run_dir: str | Path, work_dir: str | Path | None = None, audience: str = "internal",
             ledger_path: str | Path | None = None) -> ExplorerData:
    """Open a finished run for the explorer.

    Parameters
    ----------
    run_dir : path
        The run folder (``onecard run --out``).
    work_dir : path, optional
        Folder holding ``intake/`` and ``analysis/`` (public runs keep them in
        ``RUNDIR.internal/``); default the manifest's work folder, else ``run_dir``.
    audience : {"internal", "public"}
    ledger_path : path, optional
        The ledger file; default the manifest's ``ledger.path``.

    Returns
    -------
    ExplorerData

    Raises
    ------
    RunError
        No ``analysis/findings.parquet`` in the work folder, or an unknown audience.
    """
    if audience not in ("internal", "public"):
        raise RunError(f"读者类型“{audience}”无效，应为 internal（内部）或 public（公开）。")
    run_dir = Path(run_dir)
    manifest = _read_json(run_dir / "manifest.json")
    work = work_folder(run_dir, manifest, work_dir)
    analysis = work / "analysis"
    if not (analysis / "findings.parquet").exists():
        raise RunError(f"运行目录 {work} 中没有分析结果（analysis/findings.parquet），"
                       "请先运行 onecard run，或填写工作目录。")
    findings = pd.read_parquet(analysis / "findings.parquet")
    findings = findings.astype({c: "string" for c in findings.columns
                                if c not in ("months", "amount_fen")})
    findings["amount_fen"] = pd.to_numeric(findings["amount_fen"]).astype("Int64")
    findings["months"] = pd.to_numeric(findings["months"]).astype("Int64")
    status_path = analysis / "rule_status.csv"
    titles = {}
    if status_path.exists():
        rs = pd.read_csv(status_path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
        if {"rule_id", "title_zh"} <= set(rs.columns):
            titles = dict(zip(rs["rule_id"], rs["title_zh"]))
    edges, persons = load_network_tables(analysis)
    persons = persons.astype({"person_id": "string"})
    rings = pd.read_parquet(analysis / "rings.parquet") if (analysis / "rings.parquet").exists() else pd.DataFrame()
    members = (pd.read_parquet(analysis / "ring_members.parquet")
               if (analysis / "ring_members.parquet").exists() else pd.DataFrame())
    inv = pd.concat([split_ids(findings["subject_id"]), split_ids(findings["related_ids"])],
                    ignore_index=True)
    if ledger_path is None:
        ledger_path = (manifest.get("ledger") or {}).get("path") if isinstance(manifest.get("ledger"), dict) else None
    data = ExplorerData(run_dir=run_dir, work_dir=work, audience=audience, manifest=manifest,
                        meta=_read_json(analysis / "meta.json"), findings=findings,
                        rule_titles=titles, persons=persons, edges=edges, rings=rings,
                        ring_members=members, involvement=inv,
                        ledger_path=Path(ledger_path) if ledger_path else None)
    data.search_index = _search_index(persons, edges, data.public)
    from .decide import statuses
    data.findings["status"] = statuses(data.ledger_path, data.findings["finding_id"])
    return data


_ID_LIKE = re.compile(r"^[0-9xX*\s\-]+$")


def resolve_query(data: ExplorerData, query: str) -> tuple[set[str], pd.Series]:
    """Nodes a search text names, and the findings it matches.

    The text is folded like the index (:func:`fold_text`); digits-only text also
    matches without spaces/dashes. A text matches a key by substring. Findings
    match when they name a matched node (or, for a person, one of the person's
    own accounts/phones), or their ``finding_id`` or subject starts with the text.

    Returns
    -------
    nodes : set of str
        ``person:<id>``, ``account:<no>``, ``phone:<no>``.
    mask : Series of bool
        Over ``data.findings`` (positional).
    """
    q = fold_text(pd.Series([query or ""])).iloc[0]
    if _ID_LIKE.match(q):
        q = re.sub(r"[\s\-]", "", q)
    if not q:
        return set(), pd.Series(True, index=data.findings.index)
    idx = data.search_index
    hit = idx["key"].str.contains(q, regex=False).fillna(False).to_numpy(bool)
    nodes = set(idx.loc[hit, "node"].tolist())
    if q.isascii() and q.isalpha() and not data.public:
        py = data.pinyin_index
        nodes |= set(py.loc[py["key"].str.contains(q, regex=False).fillna(False).to_numpy(bool), "node"])
    nodes |= data.owners_of([n for n in nodes if not n.startswith("person:")][:50])
    idents = {n.split(":", 1)[1] for n in nodes}
    for n in [n for n in nodes if n.startswith("person:")][:50]:
        idents.update(data.identifiers_of(n.split(":", 1)[1]))
    inv = data.involvement
    pos = inv.loc[inv["ident"].isin(list(idents)).to_numpy(bool), "pos"].unique()
    mask = np.zeros(len(data.findings), dtype=bool)
    mask[pos] = True
    mask |= data.finding_names.str.contains(q, regex=False).fillna(False).to_numpy(bool)
    if not data.public:
        fid = data.findings["finding_id"].astype("string").str.lower()
        mask |= fid.str.startswith(q).fillna(False).to_numpy(bool)
    return nodes, pd.Series(mask, index=data.findings.index)

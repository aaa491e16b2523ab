"""Build the shared-identifier network from the canonical tables.

Everything here is vectorised pandas over edge lists; the networkx graph is
materialised lazily from those lists (:attr:`Network.graph`), so rules and ring
detection never pay for it.

Node ids are prefixed by type: ``person:<id>``, ``account:<no>``,
``phone:<no>``, ``address:<norm>``, ``household:<id>``, ``handler:<name>``.

Edge kinds (``kind``) and whether they link persons into rings (``link``):

==================  ==================  =====  ===============================
kind                between             link   source
==================  ==================  =====  ===============================
``paid_into``       person - account    yes    payouts (any status)
``holds``           person - account    yes    cards (holder_id)
``official_account`` person - account   yes    officials (account_no)
``reserved_phone``  account - phone     yes    cards (phone)
``official_phone``  person - phone      yes    officials (phone)
``contact_phone``   person - phone      no     roster (phone)
``home_address``    person - address    no     roster (address)
``card_address``    account - address   no     cards (address)
``member_of``       person - household  no     roster household_id / dibao head
``guardian``        person - person     no     roster guardian_id (ward -> guardian)
``relative``        person - person     no     relations (official -> relative)
``opened_by``       account - handler   no     cards (opened_by)
``approved_by``     person - handler    no     entitlements (approver / handler)
==================  ==================  =====  ===============================

A linking edge touching a placeholder is dropped; one touching a hub (degree
above the cap), an institution account or a masked account has ``link=False``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


LINK_KINDS = ("paid_into", "holds", "official_account", "reserved_phone", "official_phone")
EDGE_COLUMNS = ["u", "v", "kind", "source", "first", "last", "amount_fen", "n_rows", "rows", "link"]
HUB_COLUMNS = ["kind", "value", "degree", "reason"]


def col(df: pd.DataFrame | None, name: str) -> pd.Series:
    """Column ``name`` as ``string`` (or the original dtype), all-missing if absent."""
    if df is None:
        return pd.Series(dtype="string")
    if name in df.columns:
        s = df[name]
        return s.astype("string") if s.dtype == object or s.dtype.kind in "OU" else s
    return pd.Series(pd.NA, index=df.index, dtype="string")


def text(df: pd.DataFrame | None, name: str) -> pd.Series:
    """Column ``name`` as stripped ``string`` with blanks as missing."""
    s = col(df, name).astype("string").str.strip()
    return s.mask(s == "")


def component_labels(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over integer nodes ``0..n-1`` joined by edges ``a[i] - b[i]``.

    Vectorised hook-and-jump: every round hooks the larger root of each edge
    under the smaller one (``np.minimum.at``), then compresses paths. Returns
    each node's root (the smallest node of its component). O(E log N).
    """
    parent = np.arange(n, dtype=np.int64)
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    while len(a):
        pa, pb = parent[a], parent[b]
        diff = pa != pb
        if not diff.any():
            break
        lo, hi = np.minimum(pa[diff], pb[diff]), np.maximum(pa[diff], pb[diff])
        np.minimum.at(parent, hi, lo)
        while True:
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        a, b = a[diff], b[diff]
    return parent


def placeholder_mask(values: pd.Series, kind: str, params: dict) -> pd.Series:
    """True where a value is a placeholder (``无``, ``0``, ``00000000000``, 村委会 ...).

    Each distinct value is tested once against the list and the patterns of
    ``parameters/graph.yaml``.
    """
    uniq = pd.unique(values.dropna())
    listed = set(params["placeholders"].get(kind, []))
    pats = params["_patterns"].get(kind, [])
    bad = {v for v in uniq if v in listed or any(p.search(v) for p in pats)}
    return values.isin(bad) & values.notna()


def _refs(df: pd.DataFrame) -> pd.Series:
    f = col(df, "_file").fillna("").astype(str)
    s = col(df, "_sheet").fillna("").astype(str)
    r = col(df, "_row").astype("string").fillna("").astype(str)
    return f + np.where(s.eq(""), "", "/" + s) + ":" + r


def _date(df: pd.DataFrame, *names: str) -> pd.Series:
    out = pd.Series(pd.NaT, index=df.index, dtype="datetime64[s]")
    for name in names:
        if name in df.columns:
            s = df[name]
            if isinstance(s.dtype, pd.PeriodDtype):
                s = s.dt.start_time
            out = out.fillna(pd.to_datetime(s, errors="coerce").astype("datetime64[s]"))
    return out


def _edge_frame(df, u, v, kind, source, first=None, last=None, amount=None) -> pd.DataFrame:
    out = pd.DataFrame({"u": u.values, "v": v.values})
    out["kind"], out["source"] = kind, source
    out["first"] = first.values if first is not None else pd.NaT
    out["last"] = last.values if last is not None else pd.NaT
    out["amount_fen"] = amount.values if amount is not None else 0
    out["rows"] = _refs(df).values if df is not None and "_file" in df.columns else ""
    return out[out["u"].notna() & out["v"].notna()]


def raw_edges(tables: dict, params: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All edges, one per (u, v, kind), plus the placeholder values removed.

    Returns
    -------
    edges : DataFrame
        ``EDGE_COLUMNS``; ``amount_fen`` is money paid successfully (fen),
        ``first``/``last`` dates, ``rows`` up to 3 ``file/sheet:row`` refs.
    placeholders : DataFrame
        ``kind, value, degree`` (distinct rows holding the placeholder).
    """
    parts, ph = [], []

    def ident(df, name, kind):
        s = text(df, name)
        if kind != "address":
            s = s.str.replace(r"[\s\-]", "", regex=True)
        if kind == "account":  # masked numbers are not checkable: never a node
            s = s.mask(s.str.contains("*", regex=False, na=False))
        mask = placeholder_mask(s, kind, params)
        if mask.any():
            ph.append(pd.DataFrame({"kind": kind, "value": s[mask].values}))
        return (kind + ":" + s.mask(mask)).astype("string")

    pay = tables.get("payouts")
    if pay is not None and len(pay):
        status = text(pay, "status").fillna("paid")
        amount = col(pay, "amount").astype("Int64").fillna(0)
        acct = ident(pay, "account_no", "account")
        parts.append(_edge_frame(pay, "person:" + text(pay, "person_id"), acct, "paid_into", "payouts",
                                 _date(pay, "paid_on", "period"), _date(pay, "paid_on", "period"),
                                 amount.where(status.eq("paid"), 0)))
    cards = tables.get("cards")
    if cards is not None and len(cards):
        acct = ident(cards, "account_no", "account")
        opened = _date(cards, "opened_on")
        parts.append(_edge_frame(cards, "person:" + text(cards, "holder_id"), acct, "holds", "cards",
                                 opened, _date(cards, "closed_on").fillna(opened)))
        parts.append(_edge_frame(cards, acct, ident(cards, "phone", "phone"), "reserved_phone", "cards",
                                 opened, opened))
        parts.append(_edge_frame(cards, acct, ident(cards, "address", "address"), "card_address",
                                 "cards", opened, opened))
        parts.append(_edge_frame(cards, acct, "handler:" + text(cards, "opened_by"), "opened_by",
                                 "cards", opened, opened))
    roster = tables.get("roster")
    if roster is not None and len(roster):
        pid = "person:" + text(roster, "person_id")
        parts.append(_edge_frame(roster, pid, ident(roster, "phone", "phone"), "contact_phone", "roster"))
        parts.append(_edge_frame(roster, pid, ident(roster, "address", "address"), "home_address",
                                 "roster"))
        parts.append(_edge_frame(roster, pid, "person:" + text(roster, "guardian_id"), "guardian",
                                 "roster"))
    off = tables.get("officials")
    if off is not None and len(off):
        pid = "person:" + text(off, "person_id")
        parts.append(_edge_frame(off, pid, ident(off, "account_no", "account"), "official_account",
                                 "officials"))
        parts.append(_edge_frame(off, pid, ident(off, "phone", "phone"), "official_phone", "officials"))
    rel = tables.get("relations")
    if rel is not None and len(rel):
        parts.append(_edge_frame(rel, "person:" + text(rel, "official_id"),
                                 "person:" + text(rel, "relative_id"), "relative", "relations"))
    ent = tables.get("entitlements")
    if ent is not None and len(ent):
        for name in ("approver", "handler"):
            parts.append(_edge_frame(ent, "person:" + text(ent, "person_id"), "handler:" + text(ent, name),
                                     "approved_by", "entitlements", _date(ent, "approved_on"),
                                     _date(ent, "approved_on")))
    edges = pd.concat([p for p in parts if len(p)], ignore_index=True) if parts else pd.DataFrame(
        columns=EDGE_COLUMNS[:-2] + ["rows"])
    edges = edges[edges["u"] != edges["v"]]
    edges = _aggregate(edges)
    ph_frame = (pd.concat(ph, ignore_index=True).value_counts(["kind", "value"]).rename("degree")
                .reset_index() if ph else pd.DataFrame(columns=["kind", "value", "degree"]))
    return edges, ph_frame


def _aggregate(edges: pd.DataFrame) -> pd.DataFrame:
    """One row per (u, v, kind): dates min/max, money summed, first 3 row refs.

    Grouping runs on integer codes (one factorize per column), which keeps a
    million-edge list to a few seconds.
    """
    if edges.empty:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in EDGE_COLUMNS})
    cu, uu = pd.factorize(edges["u"])
    cv, uv = pd.factorize(edges["v"])
    ck, uk = pd.factorize(edges["kind"])
    code, _ = pd.factorize((cu.astype(np.int64) * len(uv) + cv) * len(uk) + ck)
    first = edges["first"].values.astype("datetime64[s]").astype(np.int64)
    order = np.lexsort((first, code))
    e = edges.iloc[order].reset_index(drop=True)
    code = code[order]
    grouped = e.groupby(code, sort=True)
    out = grouped.agg(source=("source", "first"), first=("first", "min"), last=("last", "max"),
                      amount_fen=("amount_fen", "sum"), n_rows=("source", "size"))
    pos = grouped.cumcount().to_numpy()
    refs = pd.Series("", index=out.index, dtype=object)
    for k in range(3):
        sel = pos == k
        part = pd.Series(e["rows"].values[sel], index=code[sel]).reindex(out.index)
        refs = refs + (("" if k == 0 else ";") + part).fillna("")
    firsts = grouped.head(1)
    out["u"], out["v"], out["kind"] = firsts["u"].values, firsts["v"].values, firsts["kind"].values
    out["rows"] = refs.values
    out = out.reset_index(drop=True)
    out["amount_fen"] = out["amount_fen"].astype("int64")
    out["link"] = out["kind"].isin(LINK_KINDS)
    return out[EDGE_COLUMNS]


def hubs_and_blocks(edges: pd.DataFrame, placeholders: pd.DataFrame, tables: dict,
                    params: dict) -> tuple[pd.DataFrame, set]:
    """Hub identifiers (degree above the cap) and nodes that never link.

    Returns
    -------
    hubs : DataFrame
        ``kind, value, degree, reason`` (``placeholder`` / ``degree_cap``).
    blocked : set of str
        Node ids that must not link: hubs and institution accounts.
    """
    ends = pd.concat([edges[["u", "v"]], edges[["v", "u"]].set_axis(["u", "v"], axis=1)])
    ends = ends[ends["u"].str.match(r"^(account|phone|address):", na=False)]
    degree = ends.drop_duplicates().groupby("u").size()
    kinds = degree.index.str.split(":", n=1).str[0]
    cap = kinds.map(lambda k: params["degree_cap"].get(k, np.inf))
    over = degree[degree.values > np.asarray(cap, dtype=float)]
    hubs = pd.DataFrame({"kind": over.index.str.split(":", n=1).str[0],
                         "value": over.index.str.split(":", n=1).str[1],
                         "degree": over.values.astype("int64"), "reason": "degree_cap"})
    ph = placeholders.assign(reason="placeholder")
    hubs = pd.concat([h for h in (hubs, ph) if len(h)], ignore_index=True) if len(ph) or len(hubs) \
        else pd.DataFrame(columns=HUB_COLUMNS)
    blocked = set(over.index)
    cards = tables.get("cards")
    if cards is not None and len(cards):
        inst = text(cards, "institution").notna()
        blocked |= set("account:" + text(cards, "account_no")[inst].dropna())
    return hubs[HUB_COLUMNS].sort_values(["kind", "degree"], ascending=[True, False],
                                        kind="stable").reset_index(drop=True), blocked

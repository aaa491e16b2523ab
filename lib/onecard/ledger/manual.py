"""Problems that no rule finds, and townships' monthly submissions.

Self-inspection (自查), spot checks (抽查), supervision (督办), petitions and
complaints (信访, 投诉, 举报电话) and media reports (媒体) enter the same ledger as
``kind = 'manual'`` items with ids ``M000001``...; they follow the same
workflow. ``finding_id=`` marks an existing data finding as also reported by
that source instead, so nothing is counted twice.

Monthly submissions: one row per township and month, zero included, so
零报送 (reported 0) differs from 未报送 (no row).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

import pandas as pd

from .cells import import_report, read_rows, write_sheet
from .money import CATEGORIES
from .store import Ledger, LedgerError, LedgerImportError, now_text
from .workflow import PENDING, parse_yuan, resolve

SOURCES = ("自查", "抽查", "督办", "信访", "投诉", "举报电话", "媒体")
ZERO, FEW, REPORTED, MISSING = "零报送", "少报送", "已报送", "未报送"

#: Bulk-entry template: Chinese header -> parameter of :func:`add_manual`.
TEMPLATE_COLUMNS = {
    "来源": "source", "条款": "clause", "街道(乡镇)": "township", "村(社区)": "village",
    "问题描述": "description", "涉及人员身份证号(多个用;分隔)": "persons", "涉及人员姓名": "names",
    "补贴项目": "subsidy", "涉及金额(元)": "amount", "资金类别": "category", "关联疑点编号": "finding_id",
}


def _add(con, *, source, by, clause=None, township=None, village=None, description=None,
         persons: Iterable[str] = (), names: Iterable[str] = (), amount_fen: int = 0, subsidy=None,
         category=None, finding_id=None, at=None) -> str:
    if source not in SOURCES:
        raise LedgerError(f"来源“{source}”无效，可选：{'、'.join(SOURCES)}。")
    if category is not None and category not in CATEGORIES:
        raise LedgerError(f"资金类别“{category}”无效，可选：{'、'.join(CATEGORIES)}。")
    if not by:
        raise LedgerError("请注明登记人（--by）。")
    at = at or now_text()
    if finding_id:
        item = resolve(con, finding_id)
        sources = [s for s in (item["sources"] or "").split(";") if s]
        if source not in sources:
            sources.append(source)
            con.execute("UPDATE items SET sources = ?, version = version + 1, updated_at = ? WHERE item_id = ?",
                        (";".join(sources), at, item["item_id"]))
            con.execute("INSERT INTO history (item_id, at, by, from_status, to_status, note, fields) "
                        "VALUES (?,?,?,?,?,?,?)",
                        (item["item_id"], at, by, item["status"], item["status"], f"同时为{source}发现的问题",
                         json.dumps({"sources": [item["sources"], ";".join(sources)]}, ensure_ascii=False)))
        return item["finding_id"]
    if not township:
        raise LedgerError("请填写街道(乡镇)。")
    if not description:
        raise LedgerError("请填写问题描述。")
    persons = [p.strip() for p in persons if p and p.strip()]
    case_id = f"person:{persons[0]}" if persons else f"manual:{uuid.uuid4().hex[:12]}"
    con.execute("INSERT OR IGNORE INTO cases VALUES (?,?,?,?,?)",
                (case_id, case_id.split(":")[0], case_id.split(":", 1)[1], township, at))
    placeholder = "pending-" + uuid.uuid4().hex
    cur = con.execute(
        "INSERT INTO items (finding_id, kind, case_id, clause, township, village, subject_type, subject_id, "
        "related_ids, name, subsidy, amount_fen, evidence, sources, money_category, status, created_at, updated_at) "
        "VALUES (?, 'manual', ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (placeholder, case_id, clause, township, village, "person" if persons else None,
         persons[0] if persons else None, ";".join(sorted(persons)) or None, "、".join(names) or None,
         subsidy, int(amount_fen or 0), description, source, category, PENDING, at, at))
    item_id = cur.lastrowid
    fid = f"M{item_id:06d}"
    con.execute("UPDATE items SET finding_id = ? WHERE item_id = ?", (fid, item_id))
    con.execute("INSERT INTO aliases VALUES (?,?,NULL,?)", (fid, item_id, at))
    con.execute("INSERT INTO history (item_id, at, by, from_status, to_status, note) VALUES (?,?,?,NULL,?,?)",
                (item_id, at, by, PENDING, f"人工登记（来源：{source}）"))
    return fid


def add_manual(ledger: Ledger, *, source: str, by: str, **details) -> str:
    """Register a problem no rule found, or mark a data finding as also reported.

    Parameters
    ----------
    source : str
        One of :data:`SOURCES`.
    by : str
        Who registers it.
    **details
        ``clause, township, village, description, persons (ids), names,
        amount_fen (fen), subsidy, category`` (a money category), or
        ``finding_id`` to mark that finding as also reported by ``source``.

    Returns
    -------
    str
        The item's finding id (``M000001``... for a new manual item).

    Raises
    ------
    LedgerError
        Unknown source or category, unknown finding id, no township or description.
    """
    with ledger.write() as con:
        return _add(con, source=source, by=by, **details)


def write_manual_template(path) -> str:
    """Write the bulk-entry template (.xlsx) with a drop-down for 来源 and 资金类别."""
    frame = pd.DataFrame(columns=list(TEMPLATE_COLUMNS))
    lists = {"来源": SOURCES, "资金类别": CATEGORIES}
    write_sheet(path, {"问题登记": frame}, lists=lists)
    return str(path)


def import_manual(ledger: Ledger, path, *, by: str) -> list[str]:
    """Register every row of a filled template; all or nothing.

    Raises
    ------
    LedgerImportError
        Any bad row (unknown header, source, amount...); the message lists them
        with Excel row numbers and nothing is written.
    """
    rows = read_rows(path, "问题登记")
    unknown = [h for h in rows.columns if h not in TEMPLATE_COLUMNS and h != "_excel_row"]
    if unknown:
        raise LedgerImportError(f"{path}：无法识别的列：{'、'.join(unknown)}", [(1, "表头")])
    problems, ids = [], []
    with ledger.write() as con:
        for rec in rows.to_dict("records"):
            args = {TEMPLATE_COLUMNS[h]: (None if pd.isna(v) or str(v).strip() == "" else v)
                    for h, v in rec.items() if h in TEMPLATE_COLUMNS}
            try:
                amount = parse_yuan(args.pop("amount")) if args.get("amount") is not None else 0
                args.pop("amount", None)
                persons = str(args.pop("persons") or "").replace("；", ";").split(";")
                names = [n for n in str(args.pop("names") or "").replace("；", ";").split(";") if n]
                ids.append(_add(con, by=by, amount_fen=amount, persons=persons, names=names,
                                **{k: (str(v) if v is not None else None) for k, v in args.items()}))
            except LedgerError as exc:
                problems.append((rec["_excel_row"], str(exc)))
        if problems:   # raising inside the transaction rolls every row back
            raise LedgerImportError(import_report(path, problems), problems)
    return ids


def record_submission(ledger: Ledger, township: str, month: str, count: int, *, by: str,
                      submitted_on: str | None = None, note: str | None = None) -> None:
    """Record a township's monthly self-inspection report (``count`` problems, 0 allowed).

    A second submission for the same township and month replaces the first.
    """
    if int(count) < 0:
        raise LedgerError("上报问题数不能为负数。")
    _check_month(month)
    with ledger.write() as con:
        con.execute("INSERT OR REPLACE INTO submissions VALUES (?,?,?,?,?,?,?)",
                    (township, month, int(count), submitted_on, by, note, now_text()))


def import_submissions(ledger: Ledger, table: pd.DataFrame, month: str, *, by: str) -> int:
    """Import ``township, self_reported`` (e.g. the old ``--townships-file``) as
    submissions for ``month``; a missing count is 未报送 and is not recorded."""
    _check_month(month)
    got = table[table["self_reported"].notna()]
    with ledger.write() as con:
        con.executemany("INSERT OR REPLACE INTO submissions VALUES (?,?,?,?,?,?,?)",
                        [(t, month, int(c), None, by, "由街道参数文件导入", now_text())
                         for t, c in zip(got["township"], got["self_reported"])])
    return len(got)


def submission_status(ledger: Ledger, month: str, townships: Iterable[str], *,
                      few_reported_threshold: int, cumulative: bool = False) -> pd.DataFrame:
    """Each township's submission for ``month`` (or all months to it).

    Returns
    -------
    DataFrame
        ``township, reported_count`` (Int64, missing = 未报送), ``status``
        (已报送 / 少报送 / 零报送 / 未报送), ``spot_check_target`` (bool: not
        reported, zero, or fewer than ``few_reported_threshold``).
    """
    _check_month(month)
    op = "<=" if cumulative else "="
    sub = ledger.frame(f"SELECT township, SUM(count) AS reported_count FROM submissions "
                       f"WHERE month {op} ? GROUP BY township", (month,))
    out = pd.DataFrame({"township": list(townships)}).merge(sub, on="township", how="left")
    n = out["reported_count"].astype("Int64")
    status = pd.Series(REPORTED, index=out.index)
    status = status.mask(n.lt(few_reported_threshold).fillna(False), FEW)
    status = status.mask(n.eq(0).fillna(False), ZERO).mask(n.isna(), MISSING)
    return out.assign(reported_count=n, status=status, spot_check_target=status != REPORTED)


def _check_month(month: str) -> None:
    try:
        pd.Period(month, freq="M")
        ok = len(month) == 7 and month[4] == "-"
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise LedgerError(f"月份“{month}”无效，应为 YYYY-MM，如 2021-06。")

"""The ledger file: SQLite schema, migrations, connections and transactions.

One file per district (default ``outputs/ledger.sqlite``). The file runs in WAL
mode with foreign keys on and a busy timeout, and every write happens inside
``BEGIN IMMEDIATE`` ... ``COMMIT`` (:meth:`Ledger.write`), so several writer
processes (parallel townships, an investigator recording decisions) queue for
the write lock instead of failing, and a process killed mid-write leaves the
last committed state: SQLite rolls the unfinished transaction back on the next
open.

Tables (see ``docs/ledger.md``): ``schema_version``, ``meta``, ``cases``,
``items`` (one per problem: data finding or manually registered), ``aliases``
(every ``finding_id`` an item has been seen under), ``item_rows`` (the source
rows a finding rests on, for counting money once per payout row), ``history``
(append-only; triggers refuse UPDATE and DELETE), ``runs``, ``submissions``
(township monthly self-reports, zero included) and ``samples``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import secrets
import sqlite3
from pathlib import Path

import pandas as pd

from ..core.errors import WorkbenchError
from ..core.log import logger

from ..analysis.parameters import DEFAULT_LEDGER as DEFAULT_PATH, default_ledger  # noqa: E402  (one default)
BUSY_TIMEOUT_MS = 60_000


class LedgerError(WorkbenchError):
    """Raised when a ledger operation is refused: unknown id, illegal transition,
    missing required field, bad value, or a ledger file that cannot be opened."""


class LedgerImportError(LedgerError):
    """Raised when an imported workbook has bad rows; nothing was written.

    ``problems`` lists ``(row_number, message)`` pairs, every bad row of the file.
    """

    def __init__(self, message: str, problems: list[tuple[int, str]]):
        super().__init__(message)
        self.problems = problems


_V1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE cases (
    case_id TEXT PRIMARY KEY, case_type TEXT NOT NULL, subject_id TEXT NOT NULL,
    township TEXT, created_at TEXT NOT NULL);
CREATE TABLE items (
    item_id INTEGER PRIMARY KEY AUTOINCREMENT,
    finding_id TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL CHECK (kind IN ('finding', 'manual')),
    case_id TEXT NOT NULL REFERENCES cases(case_id),
    rule_id TEXT, clause TEXT, severity TEXT, township TEXT, village TEXT,
    subject_type TEXT, subject_id TEXT, related_ids TEXT, name TEXT, subsidy TEXT,
    period_start TEXT, period_end TEXT, months INTEGER, amount_fen INTEGER NOT NULL DEFAULT 0,
    evidence TEXT, sources TEXT NOT NULL DEFAULT '', money_category TEXT,
    status TEXT NOT NULL DEFAULT '待核实',
    responsible_unit TEXT, responsible_person TEXT, measure TEXT, deadline TEXT,
    outcome TEXT, money_confirmed_fen INTEGER, money_recovered_fen INTEGER,
    referral_organ TEXT, referral_date TEXT, referral_ref TEXT, referral_result TEXT, closed_on TEXT,
    first_run TEXT, last_run TEXT, not_found_run TEXT,
    version INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE INDEX items_identity ON items(rule_id, subject_id, subsidy);
CREATE INDEX items_township ON items(township, status);
CREATE INDEX items_case ON items(case_id);
CREATE TABLE aliases (
    finding_id TEXT PRIMARY KEY,
    item_id INTEGER NOT NULL REFERENCES items(item_id),
    run_id TEXT, created_at TEXT NOT NULL);
CREATE INDEX aliases_item ON aliases(item_id);
CREATE TABLE item_rows (
    item_id INTEGER NOT NULL REFERENCES items(item_id),
    tbl TEXT NOT NULL, file TEXT, sheet TEXT, row INTEGER, amount_fen INTEGER);
CREATE INDEX item_rows_item ON item_rows(item_id);
CREATE TABLE history (
    history_id INTEGER PRIMARY KEY AUTOINCREMENT,
    item_id INTEGER NOT NULL REFERENCES items(item_id),
    at TEXT NOT NULL, by TEXT NOT NULL, run_id TEXT,
    from_status TEXT, to_status TEXT NOT NULL, note TEXT,
    fields TEXT NOT NULL DEFAULT '{}',
    money_confirmed_fen INTEGER, money_recovered_fen INTEGER);
CREATE INDEX history_item ON history(item_id);
CREATE TRIGGER history_no_update BEFORE UPDATE ON history
    BEGIN SELECT RAISE(ABORT, '处理记录只能追加，不能修改'); END;
CREATE TRIGGER history_no_delete BEFORE DELETE ON history
    BEGIN SELECT RAISE(ABORT, '处理记录只能追加，不能删除'); END;
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, period_start TEXT, period_end TEXT, at TEXT NOT NULL,
    townships TEXT, counts TEXT);
CREATE TABLE submissions (
    township TEXT NOT NULL, month TEXT NOT NULL, count INTEGER NOT NULL CHECK (count >= 0),
    submitted_on TEXT, by TEXT, note TEXT, recorded_at TEXT NOT NULL,
    PRIMARY KEY (township, month));
"""

_V2 = """
CREATE TABLE samples (
    sample_id INTEGER PRIMARY KEY AUTOINCREMENT, township TEXT NOT NULL, n INTEGER NOT NULL,
    seed INTEGER NOT NULL, no_finding_share REAL NOT NULL, at TEXT NOT NULL, by TEXT,
    members TEXT NOT NULL);
"""

#: Ordered migrations: (version, SQL). A new version is appended, never edited.
MIGRATIONS: list[tuple[int, str]] = [(1, _V1), (2, _V2)]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def now_text() -> str:
    """Local time as ``YYYY-MM-DD HH:MM:SS`` (sorts as text)."""
    return dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


class Ledger:
    """An open ledger file.

    Parameters
    ----------
    path : str or Path
        The SQLite file; created (with its folder) when missing, and
        :attr:`created` says so.
    readonly : bool
        Open for reading only (public-audience runs); a missing file is an error.

    Raises
    ------
    LedgerError
        The file cannot be opened, is not a ledger, or is newer than this code.

    Examples
    --------
    >>> led = Ledger("/tmp/x.sqlite")            # doctest: +SKIP
    >>> with led.write() as con:                 # doctest: +SKIP
    ...     con.execute("INSERT INTO meta VALUES ('k', 'v')")
    """

    def __init__(self, path: str | Path = DEFAULT_PATH, *, readonly: bool = False):
        self.path = Path(path).resolve()
        self.created = not self.path.exists()
        if readonly and self.created:
            raise LedgerError(f"台账文件不存在：{self.path}")
        if self.created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            if readonly:
                self.con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                           isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            else:
                self.con = sqlite3.connect(self.path, isolation_level=None,
                                           timeout=BUSY_TIMEOUT_MS / 1000)
            self.con.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.con.execute("PRAGMA foreign_keys = ON")
            if not readonly:
                self.con.execute("PRAGMA journal_mode = WAL")
                self.con.execute("PRAGMA synchronous = NORMAL")
                self._migrate()
            self._check_version()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"无法打开台账文件 {self.path}：{exc}") from exc
        self.readonly = readonly
        if self.created:
            logger.info("created ledger %s", self.path)

    # -- schema -------------------------------------------------------------------
    def _migrate(self) -> None:
        with self.write() as con:
            con.execute("CREATE TABLE IF NOT EXISTS schema_version ("
                        "version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)")
            current = con.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version").fetchone()[0]
            for version, sql in MIGRATIONS:
                if version > current:
                    for statement in _statements(sql):
                        con.execute(statement)
                    con.execute("INSERT INTO schema_version VALUES (?, ?)", (version, now_text()))
                    if version == 1:
                        con.execute("INSERT INTO meta VALUES ('hash_key', ?)", (secrets.token_hex(16),))
                    logger.info("ledger %s migrated to schema %s", self.path, version)

    def _check_version(self) -> None:
        try:
            v = self.con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        except sqlite3.OperationalError as exc:
            raise LedgerError(f"{self.path} 不是台账文件（缺少 schema_version 表）") from exc
        if v is None or v > SCHEMA_VERSION:
            raise LedgerError(f"台账文件 {self.path} 的结构版本为 {v}，本程序支持到 {SCHEMA_VERSION}；请升级工作台。")

    @property
    def schema_version(self) -> int:
        return int(self.con.execute("SELECT MAX(version) FROM schema_version").fetchone()[0])

    def meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- transactions ---------------------------------------------------------------
    @contextlib.contextmanager
    def write(self):
        """``BEGIN IMMEDIATE`` transaction: commit on success, roll back on any error."""
        if getattr(self, "readonly", False):
            raise LedgerError("本台账以只读方式打开（公开版运行只读取状态，不写入）。")
        self.con.execute("BEGIN IMMEDIATE")
        try:
            yield self.con
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def frame(self, sql: str, params=()) -> pd.DataFrame:
        """Query result as a DataFrame."""
        return pd.read_sql_query(sql, self.con, params=params)

    def backup(self, target: str | Path) -> Path:
        """Consistent copy of the ledger (SQLite online backup), safe while others write."""
        target = Path(target).resolve()
        if target == self.path:
            raise LedgerError("备份文件不能与台账文件相同。")
        target.parent.mkdir(parents=True, exist_ok=True)
        dest = sqlite3.connect(target)
        try:
            self.con.backup(dest)
        finally:
            dest.close()
        return target

    def integrity_ok(self) -> bool:
        return self.con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def close(self) -> None:
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _statements(sql: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    out, buf = [], []
    for line in sql.strip().splitlines():
        buf.append(line)
        text = "\n".join(buf).strip()
        if sqlite3.complete_statement(text):
            out.append(text)
            buf = []
    return out


def open_ledger(path: str | Path | None = None, *, readonly: bool = False) -> Ledger:
    """Open (or create) the ledger at ``path`` (default ``outputs/ledger.sqlite``
    relative to the current folder). See :class:`Ledger`."""
    return Ledger(path or default_ledger(), readonly=readonly)

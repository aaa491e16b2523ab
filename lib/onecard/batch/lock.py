"""A run folder's lock: one run writes a folder at a time (issue 10).

The lock is ``RUNDIR/.onecard.lock``, created atomically (``O_CREAT | O_EXCL``)
and holding ``{"pid", "host", "started"}``. A lock whose process is gone (same
host, pid not alive) is *stale*: it is recognised and taken over with a message;
the manifest of such a folder reads ``interrupted``. A lock held by a live
process, or by another host (whose processes cannot be checked), refuses the run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from pathlib import Path

from ..core.errors import RunError
from ..core.log import logger

__all__ = ["LOCK_NAME", "RunLock", "read_lock", "lock_is_stale"]

LOCK_NAME = ".onecard.lock"


def read_lock(folder: Path) -> dict | None:
    """The lock record of ``folder``, or None when it is not locked (or unreadable: ``{}``)."""
    path = Path(folder) / LOCK_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (killed, not yet reaped by its parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def lock_is_stale(record: dict | None) -> bool:
    """True when the lock's process is gone (same host, pid not running)."""
    if record is None:
        return False
    if not record:
        return True  # an empty or damaged lock file: its writer died while writing it
    if record.get("host") != socket.gethostname():
        return False
    try:
        return not _alive(int(record.get("pid")))
    except (TypeError, ValueError):
        return True


class RunLock:
    """Context manager holding the lock of a run folder.

    Raises
    ------
    RunError
        (On enter) when a live run holds the folder, or a run on another host.
    """

    def __init__(self, folder: Path, say=None):
        self.folder = Path(folder)
        self.path = self.folder / LOCK_NAME
        self.say = say or (lambda _msg: None)
        self.took_over: dict | None = None

    def acquire(self) -> "RunLock":
        record = {"pid": os.getpid(), "host": socket.gethostname(),
                  "started": dt.datetime.now().isoformat(timespec="seconds")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                held = read_lock(self.folder)
                if held is None:
                    continue  # released between our attempt and the read
                if not lock_is_stale(held):
                    raise RunError(
                        f"运行目录 {self.folder} 正在被另一次运行写入（进程 {held.get('pid')}，"
                        f"主机 {held.get('host')}，开始于 {held.get('started')}）；"
                        "请等它结束，或使用另一个运行目录。") from None
                self.took_over = held
                self.say(f"运行目录 {self.folder} 的锁来自已不存在的进程 {held.get('pid')}"
                         f"（开始于 {held.get('started')}），已接管。")
                logger.info("stale lock %s taken over: %s", self.path, held)
                self.path.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(record, fh)
            return self
        raise RunError(f"无法锁定运行目录 {self.folder}，请重试。")

    def release(self) -> None:
        held = read_lock(self.folder)
        if held and held.get("pid") == os.getpid() and held.get("host") == socket.gethostname():
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

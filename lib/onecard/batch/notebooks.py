"""Executing notebook templates with papermill, safely in parallel.

- ``check_parameters_cell``: a template must have exactly one ``parameters`` cell (B25).
- ``execute_notebook``: kernel ``python3`` of this interpreter (B26), over local IPC
  sockets in a private temp folder so parallel kernels never race for TCP ports
  (B27); no papermill ``cwd`` (it ``os.chdir``s the whole process, which races
  between threads); a kernel that dies before its first cell is retried; a failed
  cell is named in the error; the output notebook's size is capped (B31); a notebook
  has a wall-clock limit (its kernel is killed past it) besides the per-cell timeout;
  the kernel's private temp folder (``onecard-kernel-*``) is removed afterwards; the
  paths are passed literally (papermill formats paths with ``str.format``, so a
  folder named ``{}`` is escaped); papermill's and the kernel client's English
  chatter is kept out of the console (loggers at ERROR).
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from ..core.errors import RunError
from ..core.log import logger

KERNEL = "python3"
CELL_TIMEOUT_S = 900  # fallback only; runs pass ``RunParameters.cell_timeout_s`` (run.yaml)
#: Third-party loggers whose English progress chatter must not reach the console.
QUIET_LOGGERS = ("papermill", "papermill.translators", "nbclient", "traitlets", "jupyter_client",
                 "blib2to3", "asyncio")
NOTEBOOK_SIZE_LIMIT = 20 * 1024 * 1024


def check_parameters_cell(notebook: Path) -> None:
    """Refuse a template without exactly one cell tagged ``parameters`` (B25).

    Raises
    ------
    RunError
        When no cell or several cells carry the tag (a mistyped ``Parameters``
        does not count).
    """
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    tagged = [c for c in nb.cells if "parameters" in (c.get("metadata", {}).get("tags") or [])]
    if len(tagged) != 1:
        raise RunError(f"笔记本模板 {notebook.name} 应当恰好有一个标记为 parameters 的单元格，"
                       f"实际有 {len(tagged)} 个；否则注入的参数可能被模板默认值覆盖。")


def _ipc_kernel_manager():
    from jupyter_client.manager import AsyncKernelManager

    class _IPCKernelManager(AsyncKernelManager):
        """Kernel over local IPC sockets in a private temp folder: no TCP ports to race
        for when several kernels start at once (B27), nothing reachable from the network."""

        #: Wall-clock limit in seconds (None: none); set on a per-call subclass.
        wall_clock_s: float | None = None
        #: Every instance of a per-call subclass, so the caller can clean up after it.
        instances: list | None = None

        def __init__(self, **kwargs):
            import tempfile

            self._folder = Path(tempfile.mkdtemp(prefix="onecard-kernel-"))
            self._log = None
            self._timer = None
            self.timed_out = False
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", str(self._folder / "k"))
            super().__init__(**kwargs)
            if self.instances is not None:
                self.instances.append(self)

        async def _async_launch_kernel(self, kernel_cmd, **kw):
            # The kernel's own log (e.g. its shutdown chatter) goes to a file beside its
            # sockets, not to the investigator's terminal; errors reach us through papermill.
            self._log = open(self._folder / "kernel.log", "ab")  # noqa: SIM115
            kw.setdefault("stderr", self._log)
            await super()._async_launch_kernel(kernel_cmd, **kw)
            if self.wall_clock_s:
                self._timer = threading.Timer(self.wall_clock_s, self._kill_for_time)
                self._timer.daemon = True
                self._timer.start()

        def _kill_for_time(self):
            """Past the wall-clock limit: kill the kernel process; papermill then raises."""
            process = getattr(getattr(self, "provisioner", None), "process", None)
            if process is not None and process.poll() is None:
                self.timed_out = True
                process.kill()

        def cleanup_folder(self):
            """Stop the timer, close the log and remove the private temp folder."""
            if self._timer is not None:
                self._timer.cancel()
            if self._log is not None:
                self._log.close()
            shutil.rmtree(self._folder, ignore_errors=True)

    return _IPCKernelManager


IPCKernelManager = _ipc_kernel_manager()


def quiet_third_party() -> None:
    """Raise third-party loggers (papermill, nbclient ...) to ERROR: no English chatter."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def _literal_path(path: Path) -> str:
    """``path`` as a string papermill's ``str.format`` leaves unchanged (``{`` -> ``{{``)."""
    return str(path).replace("{", "{{").replace("}", "}}")


def execute_notebook(template: Path, output: Path, parameters: dict, retries: int = 1,
                     cell_timeout_s: float = CELL_TIMEOUT_S,
                     wall_clock_s: float | None = None) -> None:
    """Execute ``template`` into ``output`` with papermill, kernel ``python3``.

    A kernel that dies before running any cell (port race on start, B27) is
    retried ``retries`` times; any other failure raises after the partly
    executed notebook has been written (papermill saves it on error). The
    kernel's temp folder is removed whatever happens.

    Parameters
    ----------
    cell_timeout_s : float
        Limit of one cell, seconds.
    wall_clock_s : float, optional
        Limit of the whole notebook, seconds; past it the kernel is killed.

    Raises
    ------
    RunError
        With the failing cell's error, when the wall-clock limit is exceeded, or
        when the output notebook exceeds ``NOTEBOOK_SIZE_LIMIT`` bytes (B31).
    """
    import papermill as pm

    quiet_third_party()
    for attempt in range(retries + 1):
        managers: list = []
        manager = type("_TimedIPCKernelManager", (IPCKernelManager,),
                       {"wall_clock_s": wall_clock_s, "instances": managers})
        try:
            # No cwd: papermill would os.chdir the whole process, which races between
            # threads; notebooks get their output folder as a parameter instead.
            pm.execute_notebook(_literal_path(template), _literal_path(output),
                                parameters=parameters, kernel_name=KERNEL, progress_bar=False,
                                log_output=False, execution_timeout=int(cell_timeout_s),
                                kernel_manager_class=manager)
            break
        except Exception as exc:
            if any(m.timed_out for m in managers):
                raise RunError(f"笔记本执行超过时间上限 {wall_clock_s / 60:g} 分钟，已停止"
                               "（运行参数 notebook_time_limit_minutes）。") from exc
            started = _cells_executed(output)
            if started == 0 and attempt < retries:
                logger.warning("kernel start failed for %s (%s); retrying", output, exc)
                time.sleep(1 + attempt)
                continue
            raise RunError(_notebook_error(exc)) from exc
        finally:
            for m in managers:
                m.cleanup_folder()
    size = output.stat().st_size
    if size > NOTEBOOK_SIZE_LIMIT:
        raise RunError(f"执行后的笔记本 {output.name} 大小 {size // 1024 // 1024} MB 超过上限，"
                       "请勿在笔记本中显示整张大表。")


def prefer_own_kernel() -> None:
    """Put this interpreter's Jupyter data dir first, so kernel ``python3`` is our venv (B26)."""
    import os
    import sys

    own = str(Path(sys.prefix) / "share" / "jupyter")
    paths = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p]
    if own not in paths:
        os.environ["JUPYTER_PATH"] = os.pathsep.join([own] + paths)


def _cells_executed(output: Path) -> int:
    try:
        import nbformat
        nb = nbformat.read(str(output), as_version=4)
    except Exception:
        return 0
    return sum(1 for c in nb.cells if c.get("cell_type") == "code" and c.get("execution_count"))


def _notebook_error(exc: Exception) -> str:
    """One line naming the failing cell (papermill's execution count) and the error."""
    name = getattr(exc, "ename", type(exc).__name__)
    value = getattr(exc, "evalue", str(exc))
    count = getattr(exc, "exec_count", None)
    where = f"第{count}个代码单元格出错：" if count else ""
    return f"{where}{name}: {str(value)[:500]}"


EXPLORER_NOTEBOOK = "explorer.ipynb"


def write_explorer_notebook(run_dir: str | Path, output: str | Path | None = None,
                            force: bool = False) -> Path:
    """Write the packaged explorer notebook, its parameters cell set to ``run_dir``.

    For a user without a clone (``onecard explorer RUNDIR``): the notebook goes to
    ``output`` (default ``RUNDIR/explorer.ipynb``), with ``run_dir`` in the
    ``parameters`` cell replaced by the run folder's absolute path; nothing is
    executed. The other parameters keep the template's defaults (interactive).

    Returns
    -------
    Path
        The notebook written.

    Raises
    ------
    ParameterError
        When ``run_dir`` holds no run (``manifest.json``), or ``output`` exists
        and ``force`` is False.
    RunError
        When the template's parameters cell has no ``run_dir = ...`` line.
    """
    import re

    import nbformat

    from ..core.errors import ParameterError
    from ..core.resources import notebook_path

    run = Path(run_dir).expanduser().resolve()
    if not (run / "manifest.json").is_file():
        raise ParameterError(f"{run} 不是 onecard run 的运行目录（其中没有 manifest.json）。")
    target = Path(output) if output else run / EXPLORER_NOTEBOOK
    if target.exists() and not force:
        raise ParameterError(f"{target} 已存在，未覆盖（确需重新生成请加 --force）。")
    template = notebook_path(EXPLORER_NOTEBOOK)
    check_parameters_cell(template)
    nb = nbformat.read(str(template), as_version=4)
    cell = next(c for c in nb.cells if "parameters" in (c.get("metadata", {}).get("tags") or []))
    source, n = re.subn(r"^run_dir\s*=\s*[^#\n]*?(\s*#.*)?$",
                        lambda m: f"run_dir = {str(run)!r}{m.group(1) or ''}",
                        cell.source, count=1, flags=re.M)
    if n != 1:
        raise RunError(f"笔记本模板 {template.name} 的 parameters 单元格中没有 run_dir = … 一行。")
    cell.source = source
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(target))
    return target

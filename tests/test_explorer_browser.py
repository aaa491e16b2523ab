"""The explorer end to end in a real browser: JupyterLab + Debian chromium + Playwright.

Starts JupyterLab on 127.0.0.1 (token, free port, root folder = a temp folder
holding a COPY of the packaged notebook), opens the explorer, runs all cells,
picks a township and a finding, opens the person, records a decision, and
checks the decision is in the SQLite ledger. No browser is downloaded: the
system chromium is used (``executable_path="/usr/bin/chromium"``).

Under ``CI=true`` a missing chromium or playwright FAILS the test (never skips).
Screenshots go to ``outputs/test-artifacts/`` (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from explorer_fixture import F_DEAD, P2, make_run

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "outputs" / "test-artifacts"


def _need_browser():
    """The Playwright sync API, or skip (fail under CI=true) when it or chromium is missing."""
    missing = []
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
        missing.append("playwright (pip install playwright; no browser download needed)")
    if not CHROMIUM.exists():
        missing.append("chromium (apt-get install -y chromium)")
    if missing:
        msg = "browser test needs: " + ", ".join(missing)
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg)
        pytest.skip(msg)
    return sync_playwright


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture()
def lab(tmp_path):
    """A JupyterLab server on a free port; yields ``(base_url, token, root)``."""
    import onecard

    root = tmp_path / "lab"
    root.mkdir()
    token = secrets.token_hex(16)
    port = _free_port()
    lib = str(Path(onecard.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([lib, *sys.path[1:]]),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "jcfg"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "jrt"),
           "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}", "--ServerApp.port_retries=0",
           "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "jupyterlab.log", "wb")
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("JupyterLab did not start: "
                                       + (tmp_path / "jupyterlab.log").read_text(errors="replace")[-2000:])
                time.sleep(0.5)
        yield base, token, root
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def _notebook_copy(root: Path, run_dir: Path) -> Path:
    """Copy the packaged notebook into ``root`` with the run folder filled in."""
    from onecard.core.resources import notebook_path

    nb = json.loads(notebook_path("explorer.ipynb").read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    src = "".join(cell["source"])
    assert 'run_dir = ""' in src and 'by = ""' in src
    cell["source"] = src.replace('run_dir = ""', f"run_dir = {str(run_dir)!r}").replace('by = ""', 'by = "浏览器测试员"')
    out = root / "explorer.ipynb"
    out.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    return out


def _drive(page, base: str, token: str) -> None:
    """Run all cells, pick a township and a finding, open the person, record a decision."""
    page.goto(f"{base}/lab/tree/explorer.ipynb?token={token}")
    page.wait_for_selector(".jp-Notebook .jp-Cell")
    try:  # JupyterLab may ask which kernel to start: take the preselected one (the venv's)
        page.locator(".jp-Dialog .jp-mod-accept").click(timeout=15_000)
    except Exception:  # no dialog
        pass
    page.wait_for_selector("text=Python 3 (onecard) | Idle")
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    page.wait_for_selector(".oc-township select")
    page.screenshot(path=str(ARTIFACTS / "explorer-1-find.png"), full_page=True)
    page.select_option(".oc-township select", label="甲街道")
    page.wait_for_function("document.querySelector('.oc-results') && "
                           "document.querySelector('.oc-results').innerText.includes('共 3 条')")
    finding = page.locator(".oc-finding select option", has_text="DEAD_STILL_PAID").first.inner_text()
    page.select_option(".oc-finding select", label=finding)
    page.wait_for_function(f"(() => {{ const s = document.querySelector('.oc-person select'); "
                           f"return s && s.options.length === 1 && s.options[0].textContent.includes('{P2}'); }})()")
    page.locator(".oc-open-person").click()
    page.wait_for_function("document.querySelector('.oc-card') && "
                           "document.querySelector('.oc-card').innerText.includes('叶玉海')")
    page.wait_for_selector(".oc-timeline[src^='blob:'], .oc-timeline[src^='data:']")
    page.screenshot(path=str(ARTIFACTS / "explorer-2-person.png"), full_page=True)
    page.locator(".lm-TabBar-tab", has_text="关系网络").first.click()
    page.wait_for_selector(".oc-graph svg.oc-network")
    page.screenshot(path=str(ARTIFACTS / "explorer-3-network.png"), full_page=True)
    page.locator(".lm-TabBar-tab", has_text="处理决定").first.click()
    page.wait_for_selector(".oc-record")
    page.locator(".oc-record").click()
    page.wait_for_function("document.querySelector('.oc-decision-message') && "
                           "document.querySelector('.oc-decision-message').innerText.includes('已记录')")
    page.wait_for_function("document.querySelector('.oc-history') && "
                           "document.querySelector('.oc-history').innerText.includes('浏览器测试员')")
    page.screenshot(path=str(ARTIFACTS / "explorer-4-decide.png"), full_page=True)

def test_explorer_in_a_real_browser(lab, tmp_path):
    sync_playwright = _need_browser()
    from onecard.core.resources import notebook_path
    packaged = notebook_path("explorer.ipynb")
    before = _sha(packaged)
    base, token, root = lab
    ledger = tmp_path / "ledger.sqlite"
    run_dir = make_run(tmp_path / "run", ledger=ledger)
    _notebook_copy(root, run_dir)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1100})
            page.set_default_timeout(120_000)
            try:
                _drive(page, base, token)
            except Exception:
                page.screenshot(path=str(ARTIFACTS / "explorer-failure.png"), full_page=True)
                raise
        finally:
            browser.close()
    con = sqlite3.connect(ledger)
    try:
        row = con.execute("SELECT status FROM items WHERE finding_id = ?", (F_DEAD,)).fetchone()
        hist = con.execute("SELECT h.by, h.from_status, h.to_status FROM history h JOIN items i USING (item_id) "
                           "WHERE i.finding_id = ? ORDER BY h.history_id DESC LIMIT 1", (F_DEAD,)).fetchone()
    finally:
        con.close()
    assert row == ("核实中",)
    assert hist == ("浏览器测试员", "待核实", "核实中")
    assert _sha(packaged) == before, "the packaged notebook was modified on disk"


def test_missing_browser_fails_under_ci_and_skips_elsewhere(monkeypatch):
    import test_explorer_browser as me

    monkeypatch.setattr(me, "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium"):
        me._need_browser()
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="chromium"):
        me._need_browser()

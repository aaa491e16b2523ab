"""Run folders that are safe (issue 10, runner side) and the staged runner (issue 8 §4).

Real subprocess runs of ``onecard run`` on a small synthetic district: dry run,
public run with a separate work folder and unreadable inputs (exit 3), inputs
hashed before and after, ``{}`` in the output path, no kernel temp folders left,
no English chatter, kill -9 during the township stage then ``--resume``, an
ASCII locale.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

TOWNSHIPS = ["蔡甸街道", "奓山街道"]
LIB = str(Path(__file__).resolve().parents[1] / "lib")


def _env(**extra):
    env = {**os.environ, "PYTHONPATH": LIB + os.pathsep + os.environ.get("PYTHONPATH", "")}
    env.update(extra)
    return env


def onecard(*args, env=None, timeout=1200):
    return subprocess.run([sys.executable, "-m", "onecard.cli", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", timeout=timeout,
                          env=env or _env())


def hashes(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    base = tmp_path_factory.mktemp("safety")
    data = base / "data"
    proc = onecard("synth", "--out", data, "--seed", "7", "--scale", "0.05")
    assert proc.returncode == 0, proc.stderr
    return data


def test_dry_run_lists_files_and_townships_and_writes_nothing(district, tmp_path):
    before = hashes(district)
    out = tmp_path / "run"
    proc = onecard("run", "--data", district, "--out", out, "--dry-run", "--township", *TOWNSHIPS)
    assert proc.returncode == 0, proc.stderr
    assert "参数检查通过（未写入任何文件）" in proc.stdout
    assert "一卡通账户信息.xlsx 工作表「账户信息」 → cards" in proc.stdout
    assert "一卡通发放明细_2021年_蔡甸街道.xls 工作表「2021年_1」 → payouts" in proc.stdout
    assert "将生成报告的街道(乡镇)（2 个）：蔡甸街道、奓山街道" in proc.stdout
    assert not out.exists()
    assert hashes(district) == before
    # every township with data when none is named
    proc = onecard("run", "--data", district, "--out", out, "--dry-run")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("将生成报告的街道"))
    assert line.startswith("将生成报告的街道(乡镇)（17 个）：蔡甸街道、奓山街道")
    assert not out.exists()
    # a bad period is found before any intake, and nothing is written
    proc = onecard("run", "--data", district, "--out", out, "--dry-run", "--period", "0101:2021-03")
    assert proc.returncode == 2 and "核查期间“0101:2021-03”格式不正确" in proc.stderr
    assert not out.exists()


def test_out_inside_data_is_refused_and_inputs_untouched(district):
    before = hashes(district)
    proc = onecard("run", "--data", district, "--out", district / "run")
    assert proc.returncode == 2 and "与数据目录" in proc.stderr and "Traceback" not in proc.stderr
    assert not (district / "run").exists() and hashes(district) == before


def test_unwritable_out_is_refused_before_any_work(district, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out in (afile / "run", "/proc/x"):
        proc = onecard("run", "--data", district, "--out", out)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert "无法" in proc.stderr and "运行目录" in proc.stderr


@pytest.fixture(scope="module")
def public_run(district, tmp_path_factory):
    """A public run with braces in its folder name and three unreadable inputs added."""
    base = tmp_path_factory.mktemp("public")
    data = base / "data"
    shutil.copytree(district, data)
    (data / "空文件.xlsx").write_bytes(b"")
    (data / "截断.xlsx").write_bytes((district / "一卡通账户信息.xlsx").read_bytes()[:3000])
    (data / "加密.xlsx").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + b"\x00" * 4000)
    tmp = base / "tmp"
    tmp.mkdir()
    before = hashes(data)
    out = base / "公开{}run"
    proc = onecard("run", "--data", data, "--out", out, "--township", TOWNSHIPS[0],
                   "--audience", "public", "--quiet", env=_env(TMPDIR=str(tmp)))
    return {"data": data, "out": out, "proc": proc, "before": before, "tmp": tmp,
            "work": base / "公开{}run.internal"}


def test_public_run_exit_3_lists_unreadable_inputs(public_run):
    proc = public_run["proc"]
    assert proc.returncode == 3, proc.stderr
    assert "完成，但部分输入文件无法读取" in proc.stderr
    for name in ("空文件.xlsx", "加密.xlsx"):
        assert f"  {name}：" in proc.stderr, name
    assert "截断.xlsx" in proc.stdout + proc.stderr  # damaged (intake) or skipped: listed
    m = json.loads((public_run["out"] / "manifest.json").read_text(encoding="utf-8"))
    assert {"空文件.xlsx", "加密.xlsx"} <= {u["file"] for u in m["unreadable"]}
    assert m["status"] == "finished" and m["failed"] == []
    assert m["stages"] == ["intake", "analysis", "townships", "district_summary"]
    assert m["folders"] == {"run": str(public_run["out"].resolve()),
                            "work": str(public_run["work"].resolve())}
    assert m["parameters"]["audience"] == "public" and m["parameters"]["period"] == "2020-01:2021-12"


def test_public_run_folder_holds_only_reports_and_work_folder_the_rest(public_run):
    out, work = public_run["out"], public_run["work"]
    names = {str(p.relative_to(out)) for p in out.rglob("*")}
    assert not any(n.startswith(("intake", "analysis")) or n.endswith(".ipynb") for n in names), names
    assert ".onecard.lock" not in names  # released at the end
    for name in ("findings.csv", "findings.xlsx", "district_summary.html", "district_summary.pdf",
                 f"{TOWNSHIPS[0]}/review.html", f"{TOWNSHIPS[0]}/review.pdf",
                 f"{TOWNSHIPS[0]}/findings.csv"):
        assert name in names, name
    for name in ("intake/intake.json", "intake/payouts.parquet", "analysis/findings.parquet",
                 f"{TOWNSHIPS[0]}/township_review.ipynb", "district_summary.ipynb"):
        assert (work / name).exists(), name
    nb = (work / TOWNSHIPS[0] / "township_review.ipynb").read_text(encoding="utf-8")
    assert "work_dir" in nb and '"output_type": "error"' not in nb


def test_inputs_are_read_only(public_run):
    assert hashes(public_run["data"]) == public_run["before"]


def test_kernel_temp_folders_removed_and_no_english_chatter(public_run):
    assert list(public_run["tmp"].glob("onecard-kernel-*")) == []
    text = public_run["proc"].stdout + public_run["proc"].stderr
    for chatter in ("WARNING", "papermill", "Passed unknown parameter", "Traceback", "file size"):
        assert chatter not in text, chatter


def _wait_for(predicate, timeout=600):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_kill9_during_townships_then_resume(district, tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "onecard.cli", "run", "--data", str(district),
                             "--out", str(out), "--township", *TOWNSHIPS, "--workers", "1",
                             "--quiet"], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(lambda: (out / TOWNSHIPS[0]).is_dir() or proc.poll() is not None)
        assert proc.poll() is None, "the run ended before the township stage"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    from onecard.batch.manifest import read_manifest

    m = read_manifest(out)
    assert m["status"] == "interrupted"
    assert m["stages"] == ["intake", "analysis"]
    assert {t["status"] for t in m["townships"]} <= {"pending", "running"}
    findings_before = (out / "findings.csv").read_bytes()
    analysis_before = pd.read_parquet(out / "analysis" / "findings.parquet")
    # a new run into it is refused, pointing at --resume
    again = onecard("run", "--data", district, "--out", out)
    assert again.returncode == 2 and f"onecard run --resume {out}" in again.stderr
    assert "已接管" in again.stdout  # the dead run's lock was recognised as stale
    assert "WARNING" not in again.stderr
    resumed = onecard("run", "--resume", out, "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert f"续跑 {m['run_id']}（上次状态：interrupted）" in resumed.stdout
    after = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert after["run_id"] == m["run_id"] and after["status"] == "finished"
    assert [t["status"] for t in after["townships"]] == ["ok", "ok"]
    assert after["stages"] == ["intake", "analysis", "townships", "district_summary"]
    assert len(after["resumed"]) == 1
    assert (out / "findings.csv").read_bytes() == findings_before
    pd.testing.assert_frame_equal(pd.read_parquet(out / "analysis" / "findings.parquet"),
                                  analysis_before)
    for t in TOWNSHIPS:
        assert (out / t / "review.pdf").exists()
    # a finished run is not resumed; a changed input refuses the resume
    assert "已经完成" in onecard("run", "--resume", out).stderr
    after["status"] = "failed"
    after["inputs"][0]["sha256"] = "0" * 64
    (out / "manifest.json").write_text(json.dumps(after, ensure_ascii=False), encoding="utf-8")
    changed = onecard("run", "--resume", out)
    assert changed.returncode == 2 and "输入文件已改变" in changed.stderr
    assert after["inputs"][0]["file"] in changed.stderr


def test_ascii_locale_prints_chinese(tmp_path):
    env = _env(LC_ALL="C", LANG="C", PYTHONUTF8="0")
    env.pop("PYTHONIOENCODING", None)
    proc = subprocess.run([sys.executable, "-m", "onecard.cli", "run", "--data",
                           str(tmp_path / "没有"), "--out", str(tmp_path / "run")],
                          capture_output=True, env=env, timeout=300)
    err = proc.stderr.decode("utf-8")
    assert proc.returncode == 2 and "数据目录不存在" in err and "Traceback" not in err
    helped = subprocess.run([sys.executable, "-m", "onecard.cli", "run", "-h"], capture_output=True,
                            env=env, timeout=300)
    assert helped.returncode == 0 and "3  完成，但部分输入文件无法读取" in helped.stdout.decode("utf-8")

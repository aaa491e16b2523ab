"""The wheel is a real package: built, installed into a venv that cannot see the clone,
it runs a small district from a folder outside the clone and produces the same run
folder as the clone's own code; ``onecard init`` + ``--parameters`` work from it.

How the temporary venv gets its dependencies (installing them from the local mirror
took 226 s on this machine, more than the budget of the test): it is created
``--without-pip`` and without system site packages; the wheel is installed with
``--no-deps --no-index`` (by this interpreter's pip, ``pip --python``); one ``.pth``
file in its site-packages appends *this* interpreter's site-packages directory to
``sys.path``. A path line of a ``.pth`` file does not process the ``.pth`` files of
the directory it adds, so the editable-install hook there (``__editable__.onecard-*.pth``,
which would put the clone's ``lib/`` on the path) never runs: ``onecard`` can only come
from the wheel. The test asserts this (``onecard.__file__`` and ``sys.path``). The
venv also gets the ``python3`` kernel spec that pip installs with ipykernel
(``argv[0] == "python"``, which jupyter_client resolves to the launching interpreter).
That every runtime dependency is declared in ``pyproject.toml`` is checked by
``tests/test_parameters_dir.py::test_pyproject_lists_every_runtime_import``.

Three runs of one township each (workers 1) from a temporary folder: the wheel and
the clone with the packaged parameters, compared; and the wheel with an office
folder from ``onecard init`` whose ``rules.yaml`` was edited.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[1]
TOWNSHIP = "消泗乡"
TIMEOUT = 900


def _env(extra_path: Path | None = None, pythonpath: Path | None = None) -> dict:
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "ONECARD_PARAMETERS", "JUPYTER_PATH", "VIRTUAL_ENV",
                        "PYTHONHOME", "PYTHONSTARTUP"}}
    if extra_path:
        env["PATH"] = f"{extra_path}{os.pathsep}{env.get('PATH', '')}"
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return env


def _check(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, f"{what} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _build_wheel(work: Path) -> Path:
    src = work / "src"  # a copy, so the build leaves no build/ or egg-info in the clone
    src.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", src / "pyproject.toml")
    shutil.copytree(ROOT / "lib", src / "lib",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"))
    _check(subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                           "--disable-pip-version-check", "-w", str(work / "wheels"), str(src)],
                          capture_output=True, text=True, timeout=TIMEOUT), "pip wheel")
    (wheel,) = (work / "wheels").glob("onecard-*.whl")
    return wheel


def _venv_with_wheel(work: Path, wheel: Path) -> Path:
    venv = work / "venv"
    _check(subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                          capture_output=True, text=True, timeout=TIMEOUT), "venv")
    python = venv / "bin" / "python"
    _check(subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                           "--disable-pip-version-check", "--no-index", "--no-deps",
                           "--find-links", str(wheel.parent), "onecard"],
                          capture_output=True, text=True, timeout=TIMEOUT), "pip install wheel")
    site = Path(_check(subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, env=_env()), "site").stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site / "onecard_test_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    kernel = venv / "share" / "jupyter" / "kernels" / "python3"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (ipykernel)", "language": "python"}))
    return venv


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    timings = {}
    t0 = time.perf_counter()
    wheel = _build_wheel(work)
    timings["wheel"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    venv = _venv_with_wheel(work, wheel)
    timings["venv"] = time.perf_counter() - t0
    bin_ = venv / "bin"
    wenv = _env(extra_path=bin_)
    folder = work / "office-pc"  # outside the clone; every command runs here
    folder.mkdir()

    def wheel_onecard(*args):
        return subprocess.Popen([str(bin_ / "onecard"), *args], cwd=folder, env=wenv,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def clone_onecard(*args):
        return subprocess.Popen([sys.executable, "-m", "onecard.cli", *args], cwd=folder,
                                env=_env(pythonpath=ROOT / "lib"),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait(proc, what):
        out, err = proc.communicate(timeout=TIMEOUT)
        return _check(subprocess.CompletedProcess(proc.args, proc.returncode, out, err), what)

    where = json.loads(wait(subprocess.Popen(
        [str(bin_ / "python"), "-c",
         "import json, sys, onecard; print(json.dumps({'file': onecard.__file__, 'path': sys.path}))"],
        cwd=folder, env=wenv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        "where").stdout)

    t0 = time.perf_counter()
    wait(wheel_onecard("synth", "--out", "d", "--scale", "0.02"), "synth")
    wait(wheel_onecard("init", "office"), "init")
    rules = folder / "office" / "rules.yaml"
    text = rules.read_text(encoding="utf-8")
    assert "POOLED_ACCOUNT:\n  households: 3" in text
    rules.write_text(text.replace("POOLED_ACCOUNT:\n  households: 3", "POOLED_ACCOUNT:\n  households: 4"),
                     encoding="utf-8")
    common = ["--data", "d", "--workers", "1", "--quiet", "--township", TOWNSHIP]
    procs = {"wheel": wheel_onecard("run", "--out", "r-wheel", *common),
             "clone": clone_onecard("run", "--out", "r-clone", *common),
             "office": wheel_onecard("--parameters", "office", "run", "--out", "r-office", *common)}
    done = {"wheel": wait(procs.pop("wheel"), "run wheel")}
    # a user without a clone: the explorer notebook beside the run, executed in batch mode
    wait(wheel_onecard("explorer", "r-wheel"), "explorer")
    procs["explorer"] = subprocess.Popen(
        [str(bin_ / "python"), "-m", "papermill", "r-wheel/explorer.ipynb", "explorer-done.ipynb",
         "-p", "INTERACTIVE", "False", "-p", "township", TOWNSHIP, "--log-level", "ERROR"],
        cwd=folder, env=wenv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done.update({k: wait(p, k) for k, p in procs.items()})
    timings["synth_and_runs"] = time.perf_counter() - t0
    print("wheel-install test timings (s):", {k: round(v, 1) for k, v in timings.items()})
    return {"folder": folder, "venv": venv, "where": where, "done": done}


def _files(run: Path) -> list[str]:
    return sorted(p.relative_to(run).as_posix() for p in run.rglob("*")
                  if p.is_file() and p.name != "explorer.ipynb")  # written afterwards, see below


def _findings(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text(encoding="utf-8"))


def test_the_venv_imports_onecard_from_the_wheel_only(runs):
    site = str(runs["venv"])
    assert runs["where"]["file"].startswith(site), runs["where"]["file"]
    # the dependencies' site-packages (added by the test's .pth) may lie inside the clone
    # (a clone's own .venv); nothing else of the clone may be on the path
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    leaked = [p for p in runs["where"]["path"] if p not in deps and (
              p.startswith(str(ROOT)) or p.rstrip("/").endswith("/lib") and Path(p, "onecard").is_dir())]
    assert not leaked, leaked


def test_the_wheel_holds_every_subpackage_and_its_data(runs):
    (wheel,) = (runs["folder"].parent / "wheels").glob("onecard-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {p.relative_to(ROOT / "lib").as_posix() for p in (ROOT / "lib" / "onecard").rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}
    assert expected <= names, sorted(expected - names)
    assert {"onecard/report/__init__.py", "onecard/resources/notebooks/explorer.ipynb",
            "onecard/resources/parameters/reference/SOURCES.md"} <= names


def test_wheel_and_clone_write_the_same_run_folder(runs):
    wheel, clone = runs["folder"] / "r-wheel", runs["folder"] / "r-clone"
    assert _files(wheel) == _files(clone)
    assert f"{TOWNSHIP}/review.pdf" in _files(wheel) and "district_summary.html" in _files(wheel)
    for name in ("findings.csv", f"{TOWNSHIP}/findings.csv"):
        a, b = _findings(wheel / name), _findings(clone / name)
        assert len(a) > 0 and list(a.columns) == list(b.columns)
        assert set(a["run_id"]) == {_manifest(wheel)["run_id"]}
        pd.testing.assert_frame_equal(a.drop(columns="run_id"), b.drop(columns="run_id"))
    # the wheel run read its packaged files from the venv, the clone's from lib/
    policy_wheel = _manifest(wheel)["policy"]["files"][0]["path"]
    assert policy_wheel.startswith(str(runs["venv"])) and policy_wheel.endswith("policy/hubei.yaml")
    assert _manifest(clone)["policy"]["files"][0]["path"] == str(
        ROOT / "lib/onecard/resources/parameters/policy/hubei.yaml")


def test_office_parameters_from_init_change_the_run(runs):
    office = (runs["folder"] / "office").resolve()
    default, edited = _manifest(runs["folder"] / "r-wheel"), _manifest(runs["folder"] / "r-office")
    assert default["rule_params"]["POOLED_ACCOUNT"]["households"] == 3
    assert edited["rule_params"]["POOLED_ACCOUNT"]["households"] == 4
    assert default["parameters"]["parameters_dir"] == ""
    assert edited["parameters"]["parameters_dir"] == str(office)
    assert edited["policy"]["files"][0]["path"] == str(office / "policy" / "hubei.yaml")
    assert edited["townships"][0]["status"] == "ok"
    # everything else identical: the only rule whose findings may differ is POOLED_ACCOUNT
    other = {k: v for k, v in default["findings"]["by_rule"].items() if k != "POOLED_ACCOUNT"}
    assert other == {k: v for k, v in edited["findings"]["by_rule"].items() if k != "POOLED_ACCOUNT"}
    assert (edited["findings"]["by_rule"].get("POOLED_ACCOUNT", 0)
            <= default["findings"]["by_rule"].get("POOLED_ACCOUNT", 0))


def test_the_explorer_notebook_beside_the_run_opens_that_run(runs):
    import nbformat

    written = nbformat.read(str(runs["folder"] / "r-wheel" / "explorer.ipynb"), as_version=4)
    (cell,) = [c for c in written.cells if "parameters" in (c.metadata.get("tags") or [])]
    assert cell.source.splitlines()[0].startswith(f"run_dir = {str(runs['folder'] / 'r-wheel')!r}")
    executed = nbformat.read(str(runs["folder"] / "explorer-done.ipynb"), as_version=4)
    shown = "".join(str(o.get("data", {}).get(kind, "")) for c in executed.cells
                    if c.cell_type == "code" for o in c.get("outputs", [])
                    for kind in ("text/plain", "text/html"))
    ids = set(_findings(runs["folder"] / "r-wheel" / f"{TOWNSHIP}/findings.csv")["finding_id"])
    # finding ids (16 hex digits, at least one letter, so no account number) shown by the
    # filtered table: some, and all of that run's township
    shown_ids = set(re.findall(r"\b(?=[0-9a-f]*[a-f])[0-9a-f]{16}\b", shown))
    assert shown_ids and shown_ids <= ids, shown_ids - ids

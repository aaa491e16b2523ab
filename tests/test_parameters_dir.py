"""The office parameters folder: ``--parameters DIR`` / ``ONECARD_PARAMETERS``,
``onecard init``, policy ``extends:`` resolution, ``onecard explorer``, and the
notebook kernels of a run seeing the same folder."""

import ast
import json
import os
import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import nbformat
import pytest

from onecard.core.errors import ParameterError, PolicyError
from onecard.core.resources import (ENV_PARAMETERS, copy_parameters, packaged, parameter_files,
                                    parameter_path, set_parameters_dir)

ROOT = Path(__file__).resolve().parents[1]
PACKAGED = packaged("parameters")
ORIGINAL_ENV = os.environ.get(ENV_PARAMETERS)


def onecard(*args, env=None, cwd=None):
    full = {k: v for k, v in os.environ.items() if k != ENV_PARAMETERS}
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "onecard.cli", *args], capture_output=True,
                          text=True, timeout=300, env=full, cwd=cwd)


@pytest.fixture
def no_office(monkeypatch):
    """No office folder in force, restored after the test (set_parameters_dir sets the env).

    setenv first: a delenv of an absent variable records nothing to undo, and the
    folder set by the test would leak into the tests that follow in this process."""
    monkeypatch.setenv(ENV_PARAMETERS, "")
    monkeypatch.delenv(ENV_PARAMETERS)
    yield
    monkeypatch.undo()
    assert os.environ.get(ENV_PARAMETERS) == ORIGINAL_ENV


# --- --parameters / ONECARD_PARAMETERS on the CLI ---------------------------------------

def _bad_rules_office(tmp_path) -> Path:
    office = tmp_path / "office"
    office.mkdir()
    (office / "rules.yaml").write_text("POOLED_ACCOUNT:\n  households: -1\n", encoding="utf-8")
    return office


@pytest.mark.parametrize("where", ["before", "after", "env"])
def test_run_reads_the_office_rules_file_however_it_is_named(tmp_path, where):
    office = _bad_rules_office(tmp_path)
    run = ["run", "--data", str(tmp_path), "--out", str(tmp_path / "r")]
    args = {"before": ["--parameters", str(office), *run],
            "after": [*run, "--parameters", str(office)], "env": run}[where]
    proc = onecard(*args, env={ENV_PARAMETERS: str(office)} if where == "env" else None)
    assert proc.returncode == 2, proc.stderr
    assert "POOLED_ACCOUNT.households 应为正数，实际为 -1" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()


def test_command_line_parameters_win_over_the_environment(tmp_path):
    office = _bad_rules_office(tmp_path)
    clean = tmp_path / "clean"
    clean.mkdir()
    proc = onecard("run", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "r"),
                   "--parameters", str(clean), env={ENV_PARAMETERS: str(office)})
    # the clean folder's (packaged) rules pass; the run stops later, at the missing data
    assert proc.returncode == 2 and "数据目录不存在" in proc.stderr, proc.stderr


def test_intake_reads_the_office_headers_file(tmp_path):
    office = tmp_path / "office"
    office.mkdir()
    (office / "headers.yaml").write_text("nosuchtable:\n  name: [姓名]\n", encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    (data / "发放.csv").write_text("姓名,身份证号\n张一,110101195803120138\n", encoding="utf-8")
    proc = onecard("intake", str(data), "--out", str(tmp_path / "o"), "--parameters", str(office))
    assert proc.returncode == 2, proc.stderr
    assert f"{office / 'headers.yaml'}：未知的表 'nosuchtable'" in proc.stderr


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_missing_parameters_folder_is_a_chinese_error(tmp_path, how):
    missing = tmp_path / "nope"
    args = ["rules", "--parameters", str(missing)] if how == "option" else ["rules"]
    proc = onecard(*args, env={ENV_PARAMETERS: str(missing)} if how == "env" else None)
    assert proc.returncode == 2
    assert f"参数目录不存在或不是文件夹：{missing}" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_main_sets_the_folder_before_the_command_absolute(tmp_path, monkeypatch, no_office):
    from onecard import cli

    office = tmp_path / "office"
    office.mkdir()
    (office / "rules.yaml").write_text("{}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    seen = {}
    monkeypatch.setattr(cli, "cmd_rules", lambda args: seen.setdefault(
        "path", parameter_path("rules.yaml")) and 0)
    assert cli.main(["rules", "--parameters", "office"]) == 0
    assert os.environ[ENV_PARAMETERS] == str(office.resolve())
    assert seen["path"] == office.resolve() / "rules.yaml"
    # a file the office folder does not have falls back to the package
    assert parameter_path("graph.yaml") == PACKAGED / "graph.yaml"


# --- onecard init ---------------------------------------------------------------------------

EXPECTED_FILES = {"rules.yaml", "graph.yaml", "headers.yaml", "banks.yaml", "intake.yaml", "run.yaml", "policy/hubei.yaml",
                  "policy/caidian.yaml", "townships/caidian.yaml", "reference/SOURCES.md",
                  "reference/caidian_divisions.csv", "reference/caidian_township_aliases.csv",
                  "reference/hubei_codes_history.csv", "reference/hubei_counties.csv",
                  "reference/subsidy_standards.csv"}


def test_init_copies_every_packaged_parameters_file(tmp_path):
    assert set(parameter_files()) == EXPECTED_FILES
    proc = onecard("init", str(tmp_path / "office"))
    assert proc.returncode == 0, proc.stderr
    office = (tmp_path / "office").resolve()
    written = {p.relative_to(office).as_posix() for p in office.rglob("*") if p.is_file()}
    assert written == EXPECTED_FILES
    for name in EXPECTED_FILES:
        assert (office / name).read_bytes() == (PACKAGED / name).read_bytes(), name
        assert f"  {name}\n" in proc.stdout
    assert f"--parameters {office}" in proc.stdout
    assert f"{ENV_PARAMETERS}={office}" in proc.stdout


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path):
    office = tmp_path / "office"
    (office / "policy").mkdir(parents=True)
    (office / "rules.yaml").write_text("# ours\n", encoding="utf-8")
    (office / "policy" / "hubei.yaml").write_text("# ours too\n", encoding="utf-8")
    proc = onecard("init", str(office))
    assert proc.returncode == 2
    assert "已有以下文件" in proc.stderr and "--force" in proc.stderr
    listed = re.findall(r"^  (\S+)$", proc.stderr, flags=re.M)
    assert listed == ["policy/hubei.yaml", "rules.yaml"]
    assert sorted(p.name for p in office.rglob("*") if p.is_file()) == ["hubei.yaml", "rules.yaml"]
    assert (office / "rules.yaml").read_text(encoding="utf-8") == "# ours\n"

    proc = onecard("init", str(office), "--force")
    assert proc.returncode == 0, proc.stderr
    assert (office / "rules.yaml").read_bytes() == (PACKAGED / "rules.yaml").read_bytes()
    assert len([p for p in office.rglob("*") if p.is_file()]) == len(EXPECTED_FILES)


def test_copy_parameters_refuses_a_file_as_folder(tmp_path):
    target = tmp_path / "f"
    target.write_text("x", encoding="utf-8")
    with pytest.raises(ParameterError, match="不是文件夹"):
        copy_parameters(target)


# --- policy extends: ------------------------------------------------------------------------

def _policy(folder: Path, name: str, title: str, extends: str | None = "hubei.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    head = f"extends: {extends}\n" if extends else ""
    (folder / name).write_text(head + f"meta:\n  title: {title}\n", encoding="utf-8")
    return folder / name


def test_extends_falls_back_to_the_packaged_policy(tmp_path, no_office):
    from onecard.policy import load_policy

    top = _policy(tmp_path / "elsewhere", "mine.yaml", "本区政策")
    policy = load_policy(top)
    assert policy.title == "本区政策"
    assert [p for p, _ in policy.files] == [str(PACKAGED / "policy" / "hubei.yaml"), str(top.resolve())]
    baseline = load_policy(PACKAGED / "policy" / "hubei.yaml")
    assert policy.subsidies == baseline.subsidies
    assert policy.subsidies  # the baseline really was read


def test_extends_prefers_next_to_the_file_then_the_office_folder(tmp_path, no_office):
    from onecard.policy import load_policy

    office = tmp_path / "office"
    copy_parameters(office)
    office_hubei = office / "policy" / "hubei.yaml"
    office_hubei.write_text(office_hubei.read_text(encoding="utf-8").replace(
        "title:", "title: 办公室版 #", 1), encoding="utf-8")
    set_parameters_dir(office)
    top = _policy(tmp_path / "elsewhere", "mine.yaml", "本区政策")
    assert [p for p, _ in load_policy(top).files][0] == str(office_hubei.resolve())

    # a hubei.yaml beside the file wins; its own "extends: hubei.yaml" skips itself
    beside = _policy(tmp_path / "elsewhere", "hubei.yaml", "旁边的基线")
    assert [p for p, _ in load_policy(top).files] == [
        str(office_hubei.resolve()), str(beside.resolve()), str(top.resolve())]


def test_an_office_policy_may_extend_the_packaged_one_of_the_same_name(tmp_path, no_office):
    from onecard.policy import load_policy

    office = tmp_path / "office"
    own = _policy(office / "policy", "hubei.yaml", "办公室基线")
    set_parameters_dir(office)
    policy = load_policy()  # default policy/hubei.yaml: the office copy, on the packaged one
    assert policy.title == "办公室基线"
    assert [p for p, _ in policy.files] == [str(PACKAGED / "policy" / "hubei.yaml"),
                                            str(own.resolve())]


def test_unresolvable_extends_names_every_place_looked(tmp_path, no_office):
    from onecard.policy import load_policy

    office = tmp_path / "office"
    office.mkdir()
    set_parameters_dir(office)
    top = _policy(tmp_path / "elsewhere", "mine.yaml", "x", extends="nosuch.yaml")
    with pytest.raises(PolicyError) as err:
        load_policy(top)
    msg = str(err.value)
    assert "mine.yaml 的 extends: nosuch.yaml 找不到对应文件" in msg
    for place in (tmp_path / "elsewhere" / "nosuch.yaml", office.resolve() / "policy" / "nosuch.yaml",
                  PACKAGED / "policy" / "nosuch.yaml"):
        assert str(place) in msg


# --- onecard explorer -------------------------------------------------------------------------

def _parameters_cell(path: Path) -> str:
    nb = nbformat.read(str(path), as_version=4)
    cells = [c for c in nb.cells if "parameters" in (c.metadata.get("tags") or [])]
    assert len(cells) == 1
    return cells[0].source


def test_explorer_writes_the_notebook_beside_the_run(tmp_path):
    run = tmp_path / "运行 1"
    run.mkdir()
    (run / "manifest.json").write_text("{}", encoding="utf-8")
    proc = onecard("explorer", str(run))
    assert proc.returncode == 0, proc.stderr
    out = run / "explorer.ipynb"
    assert f"jupyter lab {out.resolve()}" in proc.stdout
    source = _parameters_cell(out)
    ns = {}
    exec(source, ns)  # the cell is plain assignments
    assert ns["run_dir"] == str(run.resolve())
    assert ns["INTERACTIVE"] is True and ns["audience"] == "internal" and ns["township"] == ""
    template = _parameters_cell(packaged("notebooks") / "explorer.ipynb")
    assert source.splitlines()[1:] == template.splitlines()[1:]  # only run_dir changed
    assert "# onecard run 的运行目录" in source.splitlines()[0]

    out.write_text("mine", encoding="utf-8")
    proc = onecard("explorer", str(run))
    assert proc.returncode == 2 and "已存在，未覆盖" in proc.stderr
    assert out.read_text(encoding="utf-8") == "mine"
    assert onecard("explorer", str(run), "--force").returncode == 0
    assert ns["run_dir"] in _parameters_cell(out)


def test_explorer_refuses_a_folder_that_is_not_a_run(tmp_path):
    proc = onecard("explorer", str(tmp_path))
    assert proc.returncode == 2 and "不是 onecard run 的运行目录" in proc.stderr
    assert not (tmp_path / "explorer.ipynb").exists()


# --- the notebook kernels of a run see the same folder --------------------------------------

@pytest.mark.notebook
def test_notebook_kernels_inherit_the_parameters_folder(tmp_path, no_office):
    from onecard.batch.notebooks import execute_notebook, prefer_own_kernel

    office = tmp_path / "office"
    office.mkdir()
    (office / "rules.yaml").write_text("{}\n", encoding="utf-8")
    set_parameters_dir(office)
    nb = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
        "language_info": {"name": "python"}})
    params = nbformat.v4.new_code_cell('out = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(
        "import json, os\n"
        "from onecard.core.resources import parameter_path\n"
        "json.dump({'env': os.environ.get('ONECARD_PARAMETERS'),\n"
        "           'rules': str(parameter_path('rules.yaml')),\n"
        "           'graph': str(parameter_path('graph.yaml'))}, open(out, 'w'))\n")]
    template = tmp_path / "t.ipynb"
    nbformat.write(nb, str(template))
    prefer_own_kernel()
    execute_notebook(template, tmp_path / "done.ipynb", {"out": str(tmp_path / "seen.json")})
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert seen == {"env": str(office.resolve()), "rules": str(office.resolve() / "rules.yaml"),
                    "graph": str(PACKAGED / "graph.yaml")}


# --- pyproject lists every runtime dependency -----------------------------------------------

def _imported_modules() -> set[str]:
    sources = [p.read_text(encoding="utf-8") for p in (ROOT / "lib").rglob("*.py")]
    for nb_path in packaged("notebooks").glob("*.ipynb"):
        nb = nbformat.read(str(nb_path), as_version=4)
        sources += [c.source for c in nb.cells if c.cell_type == "code"]
    names = set()
    for text in sources:
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                names |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"onecard"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_pyproject_lists_every_runtime_import():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    declared = {_canonical(re.split(r"[<>=!~\[; ]", d, 1)[0]) for d in deps}
    dists = metadata.packages_distributions()
    imported = _imported_modules()
    assert {"pandas", "xlsxwriter", "papermill", "jupyter_client", "IPython"} <= imported
    missing = {m: dists.get(m) for m in imported
               if not {_canonical(d) for d in dists.get(m, [m])} & declared}
    assert not missing, f"imported at run time but not in pyproject dependencies: {missing}"
    assert "jupyterlab" in declared  # opens the explorer notebook (onecard explorer)

"""execute_notebook: wall-clock limit, kernel temp folders removed, paths with ``{}``."""

from __future__ import annotations

import tempfile

import nbformat
import pytest

from onecard.batch.notebooks import execute_notebook
from onecard.core.errors import RunError

pytestmark = pytest.mark.notebook


def _notebook(path, code):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('target = ""')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(code)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_braces_in_paths_and_kernel_folder_removed(tmp_path, private_tmp):
    out_dir = tmp_path / "run{}{0}{x}"
    out_dir.mkdir()
    template = _notebook(tmp_path / "t{}.ipynb",
                         'open(target, "w", encoding="utf-8").write("已写入")')
    target = out_dir / "done.txt"
    execute_notebook(template, out_dir / "out.ipynb", {"target": str(target)})
    assert target.read_text(encoding="utf-8") == "已写入"
    assert (out_dir / "out.ipynb").exists()
    assert list(private_tmp.glob("onecard-kernel-*")) == []


def test_wall_clock_limit_stops_a_notebook(tmp_path, private_tmp):
    template = _notebook(tmp_path / "slow.ipynb", "import time\ntime.sleep(120)")
    with pytest.raises(RunError, match="超过时间上限"):
        execute_notebook(template, tmp_path / "out.ipynb", {}, wall_clock_s=4, cell_timeout_s=300)
    assert list(private_tmp.glob("onecard-kernel-*")) == []

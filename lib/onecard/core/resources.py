"""Where the workbench finds its files: package data, overridable file by file.

The package ships (``onecard/resources/``, read through :mod:`importlib.resources`):

- ``parameters/``: ``rules.yaml``, ``graph.yaml``, ``headers.yaml``, ``banks.yaml``,
  ``policy/*.yaml``, ``townships/*.yaml`` and ``reference/`` (divisions, code history);
- ``templates/``: the Jinja2 report templates;
- ``notebooks/``: the township, summary and explorer notebooks.

An office keeps its own parameters outside any clone: ``onecard init DIR`` copies the
packaged ones there, and ``--parameters DIR`` (or the environment variable
``ONECARD_PARAMETERS``) makes every file present in ``DIR`` win over the packaged one
of the same relative name, *file by file*; a file missing from ``DIR`` falls back
to the package. A path given explicitly (``--policy``, ``--rules`` ...) wins over both.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from .errors import ParameterError

__all__ = ["ENV_PARAMETERS", "packaged", "parameters_dir", "parameter_path", "set_parameters_dir",
           "template_dir", "notebook_path", "read_yaml_mapping", "parameter_files", "copy_parameters"]

#: Environment variable naming the office's parameters folder (same as ``--parameters``).
ENV_PARAMETERS = "ONECARD_PARAMETERS"


def packaged(kind: str = "") -> Path:
    """The packaged folder ``onecard/resources/<kind>`` as a filesystem path.

    Raises
    ------
    ParameterError
        When the package is not installed as plain files (e.g. imported from a zip),
        which the workbench does not support.
    """
    root = resources.files("onecard") / "resources"
    if not isinstance(root, Path):
        raise ParameterError("工作台的程序包文件不可直接读取（可能是从压缩包导入的），请用 pip 正常安装。")
    return root / kind if kind else root


def set_parameters_dir(folder: str | Path | None) -> Path | None:
    """Use ``folder`` as the office parameters folder for this process and its kernels.

    Sets ``ONECARD_PARAMETERS`` (inherited by the notebook kernels a run starts).
    ``None`` leaves the current setting. Returns the absolute folder in force.

    Raises
    ------
    ParameterError
        When ``folder`` is not an existing directory.
    """
    if folder is not None:
        p = Path(folder).expanduser()
        if not p.is_dir():
            raise ParameterError(f"参数目录不存在或不是文件夹：{p}（可用 onecard init {p} 生成一份默认参数）")
        os.environ[ENV_PARAMETERS] = str(p.resolve())
    return parameters_dir()


def parameters_dir() -> Path | None:
    """The office parameters folder in force (``ONECARD_PARAMETERS``), or None."""
    value = os.environ.get(ENV_PARAMETERS, "").strip()
    return Path(value) if value else None


def parameter_path(relative: str) -> Path:
    """The file to read for a parameters file name such as ``rules.yaml``,
    ``policy/hubei.yaml`` or ``reference/caidian_divisions.csv``.

    The office folder's copy when it has one, else the packaged default (which
    may not exist: callers decide whether a missing default is an error).
    """
    office = parameters_dir()
    if office is not None and (office / relative).is_file():
        return office / relative
    return packaged("parameters") / relative


def template_dir() -> Path:
    """The Jinja2 report templates folder."""
    return packaged("templates")


def notebook_path(name: str) -> Path:
    """A packaged notebook, e.g. ``township_review.ipynb``."""
    return packaged("notebooks") / name


def read_yaml_mapping(path: Path, label: str) -> dict:
    """A parameters YAML file whose top level is a mapping (``{}`` when empty).

    ``label`` names the file kind in messages, e.g. ``运行参数文件``.

    Raises
    ------
    ParameterError
        Unreadable file, invalid YAML, or a top level that is not a mapping.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ParameterError(f"无法读取{label} {path}：{exc}") from exc
    if not isinstance(data, dict):
        raise ParameterError(f"{label} {path.name} 的顶层应为 键: 值。")
    return data


def parameter_files() -> list[str]:
    """Relative names (``/``-separated, sorted) of every packaged parameters file,
    e.g. ``rules.yaml``, ``policy/hubei.yaml``, ``reference/SOURCES.md``."""
    root = packaged("parameters")
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file() and "__pycache__" not in p.parts)


def copy_parameters(folder: str | Path, force: bool = False) -> list[Path]:
    """Copy the packaged parameters into ``folder`` for an office to edit (``onecard init``).

    Writes nothing when any target file exists and ``force`` is False.

    Returns
    -------
    list of Path
        The files written (absolute), in :func:`parameter_files` order.

    Raises
    ------
    ParameterError
        When files already exist in ``folder`` (listed, unless ``force``), or
        ``folder`` is an existing file.
    """
    import shutil

    dest = Path(folder).expanduser().resolve()
    if dest.exists() and not dest.is_dir():
        raise ParameterError(f"{dest} 已存在且不是文件夹，无法在其中生成参数。")
    names = parameter_files()
    existing = [n for n in names if (dest / n).exists()]
    if existing and not force:
        raise ParameterError(
            f"参数目录 {dest} 中已有以下文件，未做任何改动（确需用默认参数覆盖请加 --force）：\n  "
            + "\n  ".join(existing))
    root = packaged("parameters")
    written = []
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / name, target)
        written.append(target)
    return written

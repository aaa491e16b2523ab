"""The repository installs on any fresh machine: registry pins only, every package has
an ``__init__.py`` (a non-editable install keeps it)."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: A requirement line that is not a plain registry requirement: direct reference
#: (``name @ url``), URL, local path, editable or option line.
DIRECT = re.compile(r"(@|file:|://|^\s*-e\b|^\s*-[-a-z]|^\s*\.|/|\\)")
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+(\s*;.*)?$")


def _lines(name):
    for n, line in enumerate((ROOT / name).read_text(encoding="utf-8").splitlines(), 1):
        text = line.split("#", 1)[0].strip()
        if text:
            yield n, text


@pytest.mark.parametrize("name", ["requirements.txt", "constraints.txt"])
def test_requirement_files_hold_registry_requirements_only(name):
    bad = [f"{name}:{n}: {t}" for n, t in _lines(name) if DIRECT.search(t)]
    assert not bad, "direct references a fresh machine cannot install:\n" + "\n".join(bad)


def test_constraints_are_exact_pins():
    bad = [f"constraints.txt:{n}: {t}" for n, t in _lines("constraints.txt") if not PIN.match(t)]
    assert not bad, "\n".join(bad)


def test_every_requirement_is_pinned_in_constraints():
    pinned = {re.split(r"[=<>!~\[; ]", t, 1)[0].lower().replace("_", "-")
              for _, t in _lines("constraints.txt")}
    names = {re.split(r"[=<>!~\[; ]", t, 1)[0].lower().replace("_", "-")
             for _, t in _lines("requirements.txt")}
    assert names <= pinned, sorted(names - pinned)


def test_every_python_folder_is_a_package():
    lib = ROOT / "lib"
    missing = sorted(str(d.relative_to(ROOT)) for d in {p.parent for p in lib.rglob("*.py")}
                     if d != lib and "__pycache__" not in d.parts and not (d / "__init__.py").exists())
    assert not missing, f"no __init__.py (left out of a non-editable install): {missing}"

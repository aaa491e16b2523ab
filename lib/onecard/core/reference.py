"""Reference data shipped with the package (``onecard/resources/parameters/reference/``).

Copied from the team's ``shared/realdata`` with its sources (see
``parameters/reference/SOURCES.md``); the product never reads ``../shared``.

- ``divisions()``: Caidian district divisions (NBS 2023 统计用区划代码), columns
  ``code, name, level, parent_code`` (all text); ``level`` in county/township/village.
- ``township_aliases()``: ``alias, official_name, code, note``.
- ``code_history()``: Hubei GB/T 2260 codes 1981-2025, columns ``code, name,
  level, parent_name, status, start_year (Int64), end_year (Int64; the year the
  code stopped, exclusive; missing = still in use), new_codes``.
- ``subsidy_standards()``: published standards with source URLs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pandas as pd

from .resources import packaged, parameter_path

#: The packaged parameters folder (defaults; an office folder overrides file by file,
#: see :mod:`onecard.core.resources`).
PARAMETERS = packaged("parameters")

#: The district the reference data describes.
DISTRICT_CODE = "420114"
DISTRICT_NAME = "蔡甸区"


def _read(name: str) -> pd.DataFrame:
    return pd.read_csv(reference_path(name), dtype=str, keep_default_na=False, encoding="utf-8")


def reference_path(name: str) -> Path:
    """The reference file to read (office parameters folder first, then the package)."""
    return parameter_path(f"reference/{name}")


@lru_cache(maxsize=None)
def divisions() -> pd.DataFrame:
    """All division rows of the district (county, 17 townships, 417 villages)."""
    return _read("caidian_divisions.csv")


def townships() -> pd.DataFrame:
    """Township-level rows: ``code`` (9 digits), ``name`` (official), in code order."""
    d = divisions()
    return d[d["level"] == "township"][["code", "name"]].sort_values("code").reset_index(drop=True)


def villages() -> pd.DataFrame:
    """Village rows: ``code`` (12 digits), ``name``, ``township_code``, ``township``."""
    d = divisions()
    t = townships().rename(columns={"code": "township_code", "name": "township"})
    v = d[d["level"] == "village"][["code", "name"]].copy()
    v["township_code"] = v["code"].str[:9]
    return v.merge(t, on="township_code", how="left").reset_index(drop=True)


@lru_cache(maxsize=None)
def township_aliases() -> pd.DataFrame:
    """Older or short township names -> official name and code."""
    return _read("caidian_township_aliases.csv")


@lru_cache(maxsize=None)
def code_history() -> pd.DataFrame:
    """Hubei region codes with the years each was in use (end year exclusive)."""
    h = _read("hubei_codes_history.csv")
    for col in ("start_year", "end_year"):
        h[col] = pd.to_numeric(h[col].replace("", pd.NA)).astype("Int64")
    return h


@lru_cache(maxsize=None)
def subsidy_standards() -> pd.DataFrame:
    """Published subsidy standards (yuan per person per month) with sources."""
    return _read("subsidy_standards.csv")

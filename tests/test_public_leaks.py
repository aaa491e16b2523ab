"""Issue 10: a public run folder identifies nobody, in any file.

Runs ``onecard run --audience public`` on a small synthetic delivery and scans
EVERY file of the run folder (``leak_scan.scan``: PDF text, xlsx XML, parquet,
ipynb, GraphML/GEXF, JSON, CSV, HTML, logs, file names) for every full identifier
and name of the input tables and for any reversible hash of an identifier.

``leak_scan.ALLOWED_INTERNAL`` lists the folders still written inside RUNDIR until
the runner's ``--work`` folder is merged (``intake``, ``analysis``); the lead empties
it at merge. On the code before this change the scan found (one township, seed 0,
scale 0.02) 250+250 finding ids in findings.csv/.xlsx, 20 in each of review.html,
review.pdf and the executed notebook, 20 full IDs and 17 names in the notebook,
48 IDs and 124 names in each graph file, 78 names in findings.csv/.xlsx.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
import leak_scan  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

TOWNSHIP = "蔡甸街道"


@pytest.fixture(scope="module")
def public_run(tmp_path_factory):
    from onecard.synth import generate

    base = tmp_path_factory.mktemp("public")
    data = base / "data"
    generate(data, seed=0, scale=0.02)
    run_dir = base / "run"
    proc = subprocess.run([sys.executable, "-m", "onecard.cli", "run", "--data", str(data),
                           "--out", str(run_dir), "--audience", "public", "--township", TOWNSHIP,
                           "--quiet"], capture_output=True, text=True, timeout=1500)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    work = Path(str(run_dir) + ".internal")
    return {"data": data, "run": run_dir, "work": work if work.exists() else None}


def test_public_run_folder_leaks_nothing(public_run):
    result = leak_scan.scan(public_run["data"], public_run["run"], public_run["work"])
    assert result["ids"] > 1000 and result["names"] > 500  # the scan knows what to look for
    suffixes = {Path(f).suffix for f in public_run["run"].rglob("*") if f.is_file()
                and f.relative_to(public_run["run"]).parts[0] not in leak_scan.ALLOWED_INTERNAL}
    assert {".csv", ".xlsx", ".html", ".pdf", ".ipynb", ".json", ".graphml", ".gexf"} <= suffixes
    assert result["files"] >= 12
    assert result["leaks"] == [], dict(result["by_type"])


def test_public_files_use_public_numbers(public_run):
    run = public_run["run"]
    f = pd.read_csv(run / "findings.csv", dtype=str, encoding="utf-8-sig")
    assert f.columns[0] == "public_no" and "finding_id" not in f.columns
    assert f["public_no"].str.fullmatch(r"GK-\d{4}").all() and f["public_no"].is_unique
    town = pd.read_csv(run / TOWNSHIP / "findings.csv", dtype=str, encoding="utf-8-sig")
    assert set(town["public_no"]) <= set(f["public_no"])  # one numbering for the whole run
    html = (run / TOWNSHIP / "review.html").read_text(encoding="utf-8")
    assert "公开编号 GK-" in html
    rings = list((run / TOWNSHIP / "graph" / "rings").glob("*"))
    assert all(p.name.startswith("GQ-") for p in rings)


def test_scanner_finds_what_an_internal_export_holds(public_run, tmp_path):
    """The scan is not blind: an internal export of the same findings is full of leaks."""
    from onecard.report.render import export_findings

    work = public_run["work"] or public_run["run"]
    findings = pd.read_parquet(work / "analysis" / "findings.parquet")
    export_findings(findings, tmp_path / "internal", "internal")
    result = leak_scan.scan(public_run["data"], tmp_path / "internal", work)
    kinds = {k for _, k, _ in result["leaks"]}
    assert kinds == {"id", "name", "hash"}

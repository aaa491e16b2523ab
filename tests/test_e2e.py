"""End to end: synthesise a small district, run `onecard run` for two townships, check truth.

Slow (one synth + two runs through papermill, ~2-3 minutes on 2 cores); still runs in CI.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from onecard.core.findings import FINDINGS_COLUMNS
from onecard.core.labels import FINDING_COLUMNS_ZH
from onecard.synth.detection_quality import score_files

pytestmark = [pytest.mark.slow, pytest.mark.notebook]

TOWNSHIPS = ["蔡甸街道", "奓山街道"]
CORE_RULES = ["PAID_AFTER_DEATH", "DUPLICATE_PAYMENT", "OVER_STANDARD", "MULTIPLE_ACCOUNTS",
              "POOLED_ACCOUNT"]


def onecard(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "onecard.cli", *args], capture_output=True,
                          text=True, timeout=1200)
    if check and proc.returncode != 0:
        raise AssertionError(f"onecard {' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("e2e")
    data = base / "data"
    onecard("synth", "--out", str(data), "--seed", "7", "--scale", "0.05")
    run_dir = base / "run"
    proc = onecard("run", "--data", str(data), "--out", str(run_dir), "--township", *TOWNSHIPS,
                   "--workers", "2", "--quiet")
    return {"data": data, "truth": Path(str(data) + "_truth"), "run": run_dir, "stdout": proc.stdout}


def test_run_folder_layout(demo):
    run = demo["run"]
    manifest = json.loads((run / "manifest.json").read_text(encoding="utf-8"))
    for key in ("run_id", "parameters", "policy", "inputs", "intake", "versions", "timings",
                "townships"):
        assert key in manifest
    assert manifest["parameters"]["townships"] == TOWNSHIPS
    assert [t["status"] for t in manifest["townships"]] == ["ok", "ok"]
    # every rule ran: none missing a table in the demo, none raised
    assert all(r["checked"] and not r["error"] for r in manifest["rules"]), [
        (r["rule_id"], r["error"] or r["missing_tables"]) for r in manifest["rules"]
        if not r["checked"] or r["error"]]
    assert all(len(f["sha256"]) == 64 for f in manifest["inputs"])
    assert manifest["policy"]["files"][0]["path"].endswith("hubei.yaml")
    for entry in manifest["intake"]["files"]:
        assert entry["rows_read"] == entry["rows_accepted"] + entry["rows_quarantined"], entry
    assert (run / "findings.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for name in ("findings.xlsx", "district_summary.html", "district_summary.pdf",
                 "district_summary.ipynb", "intake/intake.json", "intake/quarantine.csv",
                 "intake/payouts.parquet"):
        assert (run / name).exists(), name
    for township in TOWNSHIPS:
        for name in ("review.html", "review.pdf", "findings.csv", "findings.xlsx",
                     "township_review.ipynb"):
            assert (run / township / name).exists(), (township, name)
    # only the requested townships get folders
    folders = {p.name for p in run.iterdir() if p.is_dir()}
    assert folders == set(TOWNSHIPS) | {"intake", "analysis"}


def test_findings_match_truth(demo):
    findings = pd.read_csv(demo["run"] / "findings.csv", dtype=str, encoding="utf-8-sig")
    assert list(findings.columns) == FINDINGS_COLUMNS
    table, decoy_hits, _ = score_files(demo["run"] / "findings.csv", demo["truth"])
    t = table.set_index("rule_id")
    for rule_id in CORE_RULES:
        assert t.loc[rule_id, "truth"] >= 5, rule_id
    # every rule of the catalogue, the minimum over rules (not the average)
    from onecard.rules.catalogue import catalogue_frame
    assert set(catalogue_frame()["rule_id"]) <= set(t.index)
    assert pd.to_numeric(t["recall"]).min() >= 0.98, t[t["recall"] < 0.98]
    assert pd.to_numeric(t["precision"]).min() >= 0.95, t[t["precision"] < 0.95]
    assert decoy_hits == 0
    # the analysis is district-wide: findings exist outside the two reported townships
    assert set(findings["township"].dropna()) - set(TOWNSHIPS)
    # finding ids are stable hashes, unique
    assert findings["finding_id"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert findings["finding_id"].is_unique


def test_township_exports_hold_only_that_township(demo):
    for township in TOWNSHIPS:
        f = pd.read_csv(demo["run"] / township / "findings.csv", dtype=str, encoding="utf-8-sig")
        assert set(f["township"]) == {township}
        from openpyxl import load_workbook
        wb = load_workbook(demo["run"] / township / "findings.xlsx", read_only=True)
        # without a ledger one sheet 疑点清单; with one (the run writes a ledger) the ledger's
        # fill-in sheet 核实工作表 and 其他疑点 (issue 12): Chinese headers either way
        checked = 0
        for ws in wb.worksheets:
            rows = list(ws.iter_rows(max_row=21, values_only=True))
            header = next((r for r in rows if r and any(v in (FINDING_COLUMNS_ZH["subject_id"], "对象编号")
                                                          for v in r)), None)
            if header is None:
                continue
            col = next(i for i, v in enumerate(header) if v in (FINDING_COLUMNS_ZH["subject_id"], "对象编号"))
            for row in rows[rows.index(header) + 1:]:
                if row[col] is not None:
                    assert isinstance(row[col], str)  # identifiers stored as text
                    checked += 1
        assert checked > 0


def test_report_content(demo):
    """B25 (parameters stamped), B30 (no widget reprs), B34 (no code), B32 (PDF has Chinese)."""
    from pypdf import PdfReader

    township = TOWNSHIPS[1]
    html = (demo["run"] / township / "review.html").read_text(encoding="utf-8")
    assert f"街道(乡镇) = {township}" in html and "版本 = 内部核查版" in html
    assert "import pandas" not in html and "IntSlider(" not in html
    assert "疑点" in html and "数据质量" in html and "<img" in html
    findings = pd.read_csv(demo["run"] / township / "findings.csv", dtype=str, encoding="utf-8-sig")
    top = findings.iloc[0]
    text = "".join(p.extract_text() for p in PdfReader(demo["run"] / township / "review.pdf").pages)
    assert f"{township}残疾人补贴一卡通发放核查报告" in text.replace("\n", "")
    assert top["finding_id"] in text.replace("\n", "")


def test_executed_notebooks_are_small_and_parameterised(demo):
    """B31: outputs stay small; B25: the injected township is the one used."""
    for township in TOWNSHIPS:
        path = demo["run"] / township / "township_review.ipynb"
        assert path.stat().st_size < 5 * 1024 * 1024
        text = path.read_text(encoding="utf-8")
        assert "missing from font" not in text  # B35: every chart glyph rendered
        assert '"output_type": "error"' not in text
        nb = nbformat.read(path, as_version=4)
        injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
        escaped = township.encode("unicode_escape").decode("ascii")  # papermill writes \\uXXXX
        assert len(injected) == 1
        assert f'township = "{escaped}"' in injected[0].source or f'township = "{township}"' in injected[0].source


def test_score_cli_prints_last_line(demo):
    proc = onecard("score", "--findings", str(demo["run"] / "findings.csv"), "--truth",
                   str(demo["truth"]))
    last = proc.stdout.strip().splitlines()[-1]
    assert last.startswith("min_recall=") and "decoy_hits=" in last


def test_explorer_runs_in_batch_without_widgets(demo, tmp_path):
    """B30: the explorer notebook in batch mode outputs tables, never widget reprs."""
    import papermill as pm

    from onecard.batch.runner import NOTEBOOKS

    findings = pd.read_csv(demo["run"] / "findings.csv", dtype=str, encoding="utf-8-sig")
    pid = findings.loc[findings["subject_type"] == "person", "subject_id"].iloc[0]
    out = tmp_path / "explorer.ipynb"
    pm.execute_notebook(str(NOTEBOOKS / "explorer.ipynb"), str(out), kernel_name="python3",
                        parameters={"run_dir": str(demo["run"]), "INTERACTIVE": False,
                                    "township": TOWNSHIPS[0], "person_id": pid},
                        progress_bar=False, execution_timeout=300)
    text = out.read_text(encoding="utf-8")
    assert "Dropdown(" not in text and "IntSlider(" not in text
    assert "涉及本人及其账户、手机号的疑点" in text  # the person's story tables were output
    fid = findings.loc[findings["subject_id"] == pid, "finding_id"].iloc[0]
    assert fid in text


def test_failing_township_does_not_stop_others(demo, tmp_path, monkeypatch):
    """One township's notebook fails: the other finishes, the failed notebook is kept,
    and the CLI exits non-zero naming it."""
    import onecard.batch.runner as runner

    nb = nbformat.read(runner.TOWNSHIP_NOTEBOOK, as_version=4)
    idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    nb.cells.insert(idx + 1, nbformat.v4.new_code_cell(
        f'if township == "{TOWNSHIPS[1]}":\n    raise ValueError("故意失败")'))
    broken = tmp_path / "township_review.ipynb"
    nbformat.write(nb, broken)
    monkeypatch.setattr(runner, "TOWNSHIP_NOTEBOOK", broken)
    result = runner.run(demo["data"], tmp_path / "run", township_names=TOWNSHIPS, progress=False)
    assert result.failed == [TOWNSHIPS[1]]
    status = {t["township"]: t for t in result.manifest["townships"]}
    assert status[TOWNSHIPS[0]]["status"] == "ok"
    assert "故意失败" in status[TOWNSHIPS[1]]["error"]
    assert (tmp_path / "run" / TOWNSHIPS[1] / "township_review.ipynb").exists()
    assert (tmp_path / "run" / TOWNSHIPS[0] / "review.pdf").exists()

"""Unknown headers are reported per file, with a Chinese hint how to map them (DATA_CONTRACT.md)."""

from __future__ import annotations

import json

from onecard.intake import cli_intake, intake_path

P1 = "110101195803120138"


def _write(folder, header_extra="备注"):
    folder.mkdir(exist_ok=True)
    (folder / "发放.csv").write_text(f"姓名,身份证号,补贴项目,所属期,金额,{header_extra}\n张一,{P1},护理,2022-05,1,PC01\n",
                                   encoding="utf-8")
    return folder


def test_unmapped_header_in_intake_json_and_cli_hint(tmp_path, capsys):
    data = _write(tmp_path / "data")
    e = intake_path(data).summary["files"][0]
    assert e["unmapped_headers"] == ["备注"]
    assert "备注" not in e["header_map"]
    assert cli_intake(data, tmp_path / "out") == 0
    out = capsys.readouterr().out
    assert "未识别的表头" in out and "发放.csv" in out and "备注" in out
    assert "sources.yaml" in out and "备注: <标准列名>" in out and "batch_id" in out
    written = json.loads((tmp_path / "out" / "intake.json").read_text(encoding="utf-8"))
    assert written["files"][0]["unmapped_headers"] == ["备注"]


def test_spelling_added_in_sources_yaml_is_used(tmp_path, capsys):
    data = _write(tmp_path / "data")
    (data / "sources.yaml").write_text('"发放.csv":\n  table: payouts\n  columns:\n    备注: batch_id\n',
                                       encoding="utf-8")
    r = intake_path(data)
    e = r.summary["files"][0]
    assert e["unmapped_headers"] == [] and e["header_map"]["备注"] == "batch_id"
    assert r.tables["payouts"]["batch_id"].tolist() == ["PC01"]
    assert cli_intake(data, tmp_path / "out") == 0
    assert "未识别的表头" not in capsys.readouterr().out

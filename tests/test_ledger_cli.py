"""``onecard ledger ...`` commands through argparse, messages Chinese."""

from __future__ import annotations

import argparse

import pandas as pd
import pytest
from onecard.core.errors import WorkbenchError
from onecard.ledger import open_ledger
from onecard.ledger.cli import add_ledger_commands
from test_ledger_fixtures import finding, frame, pid, upsert


def run(argv):
    p = argparse.ArgumentParser(prog="onecard")
    add_ledger_commands(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return args.func(args)


@pytest.fixture
def where(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ONECARD_LEDGER", raising=False)  # conftest points it at a temp file
    return tmp_path


def test_default_ledger_created_and_said(where, capsys):
    assert run(["ledger", "list"]) == 0
    out = capsys.readouterr().out
    assert "已新建台账文件" in out and (where / "outputs" / "ledger.sqlite").exists()
    run(["ledger", "list"])
    assert "已新建" not in capsys.readouterr().out


def test_set_show_add_submit_export_backup(where, capsys):
    led = open_ledger(where / "x.sqlite")
    upsert(led, frame(finding(), finding(subject=pid(2))))
    fid = led.frame("SELECT finding_id FROM items WHERE subject_id = ?", (pid(1),))["finding_id"].iloc[0]
    led.close()
    L = ["--ledger", "x.sqlite"]
    with pytest.raises(WorkbenchError, match="允许的下一状态：核实中"):
        run(["ledger", "set", fid, "--status", "属实", "--by", "张某", *L])
    assert run(["ledger", "set", fid, "--status", "核实中", "--note", "开始", "--by", "张某", *L]) == 0
    assert f"已更新 1 条：{fid}" in capsys.readouterr().out
    run(["ledger", "set", fid, "--status", "属实", "--by", "张某", "--outcome", "属实", "--confirmed", "300", *L])
    run(["ledger", "show", fid, *L])
    out = capsys.readouterr().out
    assert "状态：属实" in out and "认定金额：300.00 元" in out and "待核实 → 核实中 开始" in out
    run(["ledger", "add", "--source", "自查", "--finding", fid, "--by", "王某", *L])
    assert "标记为自查发现" in capsys.readouterr().out
    run(["ledger", "add", "--source", "信访", "--by", "王某", "--township", "蔡甸街道", "--desc", "代领",
         "--amount", "1,000.00", *L])
    assert "已登记问题 M" in capsys.readouterr().out
    run(["ledger", "submit", "--township", "永安街道", "--month", "2021-06", "--count", "0", "--by", "王某", *L])
    assert "零报送" in capsys.readouterr().out
    run(["ledger", "list", "--status", "属实", *L])
    assert "共 1 条" in capsys.readouterr().out
    run(["ledger", "export", "--month", "2021-06", "--out", "rep", *L])
    assert (where / "rep" / "问题台账月报_2021-06.xlsx").exists()
    run(["ledger", "export", "--annual", "--cutoff", "2021-12-10", "--out", "rep", *L])
    assert (where / "rep" / "问题台账年度总结_截至2021-12-10.xlsx").exists()
    run(["ledger", "worksheet", "--township", "蔡甸街道", "--out", "ws.xlsx", *L])
    assert "核实工作表（3 条）" in capsys.readouterr().out
    run(["ledger", "import", "ws.xlsx", "--by", "赵某", *L])
    assert "更新 0 条，未变化 3 条" in capsys.readouterr().out
    run(["ledger", "publish", "--month", "2021-06", "--out", "pub", *L])
    run(["ledger", "backup", "--out", "bak.sqlite", *L])
    bak = open_ledger(where / "bak.sqlite", readonly=True)
    assert len(bak.frame("SELECT * FROM items")) == 3


def test_sample_reads_run_folder(where, capsys):
    (where / "run" / "intake").mkdir(parents=True)
    pd.DataFrame({"person_id": [pid(i) for i in range(1, 11)], "township": "蔡甸街道", "name": "某",
                  "status": "paid"}).to_parquet(where / "run" / "intake" / "payouts.parquet")
    run(["ledger", "sample", "--township", "蔡甸街道", "--n", "4", "--run", "run", "--seed", "3", "--ledger", "s.sqlite"])
    assert "已抽取 4 人（随机种子 3" in capsys.readouterr().out
    with pytest.raises(WorkbenchError, match="找不到"):
        run(["ledger", "sample", "--township", "蔡甸街道", "--run", "nowhere", "--ledger", "s.sqlite"])


def test_with_the_main_chinese_parser():
    cli = pytest.importorskip("onecard.cli")
    p = cli.ChineseArgumentParser(prog="onecard")
    sub = p.add_subparsers(dest="command", required=True, parser_class=cli.ChineseArgumentParser)
    add_ledger_commands(sub)
    help_text = sub.choices["ledger"].format_help()
    assert "台账命令" in help_text and "backup" in help_text

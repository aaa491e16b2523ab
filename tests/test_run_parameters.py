"""RunParameters: one frozen, validated set of run parameters (issue 8 §4, issue 10)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import socket
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from onecard.analysis.parameters import RunParameters, parse_period, run_defaults
from onecard.batch.lock import LOCK_NAME, RunLock, lock_is_stale
from onecard.batch.manifest import INTERRUPTED, RUNNING, Manifest, read_manifest
from onecard.core.errors import ParameterError, RunError


@pytest.fixture
def data(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "发放.csv").write_text("身份证号,姓名,金额\n", encoding="utf-8")
    return d


def test_period_bounds():
    today = dt.date(2026, 12, 1)
    assert tuple(map(str, parse_period("2020-01:2021-12", today=today))) == ("2020-01", "2021-12")
    assert tuple(map(str, parse_period("2020-1:2020-3", today=today))) == ("2020-01", "2020-03")
    for bad, word in [("0001-01:9999-12", "超出范围"), ("0101:2021-03", "格式不正确"),
                      ("1999-12:2000-06", "超出范围"), ("2026-01:2028-01", "超出范围"),
                      ("2021-12:2020-01", "晚于"), ("2020", "格式不正确"),
                      ("2000-01:2010-01", "121 个月")]:
        with pytest.raises(ParameterError, match=word):
            parse_period(bad, today=today)
    # the upper bound is December of next year; the length limit is a parameter
    assert str(parse_period("2027-01:2027-12", today=today)[1]) == "2027-12"
    with pytest.raises(ParameterError, match="超过上限 12 个月"):
        parse_period("2020-01:2021-01", max_months=12, today=today)
    # the default period and limit come from the packaged run.yaml, nowhere else
    assert run_defaults()["max_period_months"] == 120
    assert tuple(map(str, parse_period(None))) == tuple(run_defaults()["period"].split(":"))


def test_load_builds_a_frozen_object_with_every_default(data, tmp_path):
    p = RunParameters.load(data=data, out=tmp_path / "run")
    assert p.period_text == "2020-01:2021-12" and p.workers == 2 and p.audience == "internal"
    assert p.few_reported_threshold == 3  # kept for the ledger's 少报送
    assert p.max_period_months == 120 and p.notebook_time_limit_s == 1800 and p.cell_timeout_s == 900
    assert p.work == p.out and not p.separate_work
    assert p.rules["POOLED_ACCOUNT"]["households"] == 3
    assert p.graph["degree_cap"]["account"] == 30 and p.policy.title
    assert p.policy_path.name == "hubei.yaml" and p.townships == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.workers = 3
    assert not (tmp_path / "run").exists()  # loading writes nothing
    # public: the working data goes beside the run folder, never inside it
    pub = RunParameters.load(data=data, out=tmp_path / "run", audience="public")
    assert pub.work == tmp_path / "run.internal" and pub.separate_work
    # the manifest record rebuilds the same parameters (--resume)
    again = RunParameters.from_record(json.loads(json.dumps(pub.record())))
    assert again.record() == pub.record()


def test_every_problem_is_collected_before_raising(data, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("POOLED_ACCOUNT: {households: 0}\n", encoding="utf-8")
    towns = tmp_path / "towns.yaml"
    towns.write_text("few_reported_threshold: -1\ntownships:\n  蔡甸街道: {self_reported: -2}\n",
                     encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        RunParameters.load(data=data, out=tmp_path / "run", period="0001-01:9999-12",
                           rules=rules, townships_file=towns, townships=["东华门街道"],
                           workers=0, audience="press", policy=tmp_path / "nope.yaml")
    lines = str(err.value).splitlines()
    text = str(err.value)
    assert lines[0] == f"运行参数有 {len(lines) - 1} 处问题："
    for expected in ("0001-01:9999-12", "rules.yaml 中 POOLED_ACCOUNT.households", "东华门街道",
                     "towns.yaml 中 蔡甸街道.self_reported", "towns.yaml 中 few_reported_threshold",
                     "--workers", "audience", "nope.yaml"):
        assert expected in text, expected
    assert len(lines) - 1 >= 8


def test_run_yaml_is_validated(tmp_path):
    bad = tmp_path / "run.yaml"
    bad.write_text("period: 2020-01:2021-12\nmax_period_months: 0\nworkerz: 2\n", encoding="utf-8")
    with pytest.raises(ParameterError) as err:
        run_defaults(bad)
    text = str(err.value)
    assert "workerz" in text and "max_period_months 应为正数" in text and "缺少键" in text


def test_office_run_yaml_overrides_the_period_limit(data, tmp_path, monkeypatch):
    office = tmp_path / "office"
    office.mkdir()
    packaged = run_defaults()
    (office / "run.yaml").write_text(yaml.safe_dump({**packaged, "max_period_months": 6}),
                                     encoding="utf-8")
    monkeypatch.setenv("ONECARD_PARAMETERS", str(office))
    with pytest.raises(ParameterError, match="超过上限 6 个月"):
        RunParameters.load(data=data, out=tmp_path / "run", period="2020-01:2020-12")


@pytest.mark.parametrize("where", ["same", "inside", "around"])
def test_out_and_data_folders_must_not_overlap(data, where):
    out = {"same": data, "inside": data / "run", "around": data.parent}[where]
    with pytest.raises(ParameterError, match="与数据目录"):
        RunParameters.load(data=data, out=out)


def test_work_folder_inside_the_run_folder_is_refused(data, tmp_path):
    with pytest.raises(ParameterError, match="工作目录"):
        RunParameters.load(data=data, out=tmp_path / "run", work=tmp_path / "run" / "w",
                           audience="public")


@pytest.mark.skipif(os.name != "posix", reason="posix paths")
def test_unwritable_out_is_a_chinese_error(data, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for out, word in [(afile / "run", "是一个文件"), (afile, "不是文件夹"), ("/proc/x", "无法写入")]:
        with pytest.raises(ParameterError, match=word):
            RunParameters.load(data=data, out=out)


def test_graph_defaults_are_the_packaged_yaml():
    from onecard.graph.params import DEFAULTS, GRAPH_YAML, load_graph_params

    assert DEFAULTS == yaml.safe_load(GRAPH_YAML.read_text(encoding="utf-8"))
    p = load_graph_params()
    assert "暂无" in p["placeholders"]["account"] and "夫妻" in p["household_relations"]


def test_graph_file_reaches_the_network(data, tmp_path):
    graph = tmp_path / "graph.yaml"
    graph.write_text("degree_cap: {account: 2}\n", encoding="utf-8")
    p = RunParameters.load(data=data, out=tmp_path / "run", graph=graph)
    assert p.graph["degree_cap"] == {"account": 2, "phone": 30, "address": 50}
    graph.write_text("degree_capp: {}\n", encoding="utf-8")
    with pytest.raises(ParameterError, match="degree_capp"):
        RunParameters.load(data=data, out=tmp_path / "run", graph=graph)


# ------------------------------------------------------------------ lock and manifest status

def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_lock_refuses_a_second_run_and_takes_over_a_stale_one(tmp_path):
    said = []
    with RunLock(tmp_path, said.append):
        held = json.loads((tmp_path / LOCK_NAME).read_text(encoding="utf-8"))
        assert held["pid"] == os.getpid() and held["host"] == socket.gethostname()
        with pytest.raises(RunError, match=f"正在被另一次运行写入（进程 {os.getpid()}"):
            RunLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    dead = _dead_pid()
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": socket.gethostname(),
                                                  "started": "2026-01-01T00:00:00"}))
    assert lock_is_stale(json.loads((tmp_path / LOCK_NAME).read_text()))
    lock = RunLock(tmp_path, said.append).acquire()
    assert lock.took_over["pid"] == dead
    assert said == [f"运行目录 {tmp_path} 的锁来自已不存在的进程 {dead}（开始于 2026-01-01T00:00:00），已接管。"]
    lock.release()
    # another host's lock cannot be checked: refused
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": dead, "host": "elsewhere", "started": ""}))
    with pytest.raises(RunError, match="elsewhere"):
        RunLock(tmp_path).acquire()


def test_running_manifest_without_live_lock_reads_interrupted(tmp_path):
    m = Manifest(tmp_path, {"run_id": "r1", "status": RUNNING})
    with RunLock(tmp_path):
        m.write()
        assert read_manifest(tmp_path)["status"] == RUNNING
    assert read_manifest(tmp_path)["status"] == INTERRUPTED
    (tmp_path / LOCK_NAME).write_text(json.dumps({"pid": _dead_pid(), "host": socket.gethostname()}))
    assert read_manifest(tmp_path)["status"] == INTERRUPTED
    with m.timed("stage"):
        pass
    assert m["timings"]["stage"] >= 0 and isinstance(m["timings"]["stage"], float)


def test_township_params_few_reported_threshold_validated(tmp_path):
    from onecard.analysis.townships import load_township_params

    f = tmp_path / "t.yaml"
    f.write_text("few_reported_threshold: 5\ntownships:\n  蔡甸街道: {self_reported: 1}\n",
                 encoding="utf-8")
    table, threshold = load_township_params(f)
    assert threshold == 5 and table["self_reported"].tolist() == [1]
    assert isinstance(table, pd.DataFrame)

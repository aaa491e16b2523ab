"""Explorer: opening a run, search (Chinese-aware, masked for public) and the findings table."""

from __future__ import annotations

import pandas as pd
import pytest

from explorer_fixture import A1, F_DEAD, F_POOL, F_RING, F_ROSTER, P1, P4, P5, PH1, make_run
from onecard.core.errors import RunError
from onecard.explorer.data import fold_text, open_run, pinyin_forms
from onecard.explorer.find import Filters, display_findings, find, html_table, sort_findings


@pytest.fixture()
def run(tmp_path):
    return make_run(tmp_path / "run")


def ids(frame):
    return set(frame["finding_id"])


def test_fold_text_folds_dots_variants_and_width():
    out = fold_text(pd.Series(["阿依古丽·买买提", "阿依古丽•买买提", "阿依古丽．买买提", "張三丰", "ＡＢ 1"]))
    assert out.tolist() == ["阿依古丽买买提"] * 3 + ["张三丰", "ab1"]


def test_pinyin_forms():
    full, init = pinyin_forms(pd.Series(["秦梅兴", "張三丰"]))
    assert full.tolist() == ["qinmeixing", "zhangsanfeng"]
    assert init.tolist() == ["qmx", "zsf"]


def test_open_run_missing_analysis_is_chinese_error(tmp_path):
    with pytest.raises(RunError, match="analysis/findings.parquet"):
        open_run(tmp_path)


def test_filters(run):
    data = open_run(run)
    assert ids(find(data, Filters(township="甲街道"))[0]) == {F_POOL, F_DEAD, F_RING}
    assert ids(find(data, Filters(rule="3.3.2"))[0]) == {F_DEAD, F_RING}
    assert ids(find(data, Filters(rule="POOLED_ACCOUNT"))[0]) == {F_POOL}
    assert ids(find(data, Filters(severity="low"))[0]) == {F_ROSTER}
    assert ids(find(data, Filters(min_yuan=1200, max_yuan=7680))[0]) == {F_POOL, F_DEAD}
    assert ids(find(data, Filters(min_yuan=1200.01))[0]) == {F_POOL, F_RING}
    assert ids(find(data, Filters(status="待核实"))[0]) == {F_POOL, F_DEAD, F_RING, F_ROSTER}
    assert ids(find(data, Filters(status="属实"))[0]) == set()


@pytest.mark.parametrize("query", ["秦梅兴", "qinmeixing", "QMX", P1, P1[-6:], A1, PH1])
def test_search_holder_finds_his_pooled_account_and_ring(run, query):
    """The holder of a pooled account is found by name, pinyin, ID, account or phone,
    and the finding about his own account is among his results."""
    sel, nodes = find(open_run(run), Filters(query=query))
    assert F_POOL in ids(sel)
    assert f"person:{P1}" in nodes
    assert ids(sel) == {F_POOL, F_RING}


@pytest.mark.parametrize("query", ["阿依古丽买买提", "阿依古丽.买买提", "阿依古丽•买买提", "ayiguli", "aygl"])
def test_search_middle_dot_names(run, query):
    _, nodes = find(open_run(run), Filters(query=query))
    assert nodes == {f"person:{P4}"}


def test_search_variant_characters(run):
    sel, nodes = find(open_run(run), Filters(query="张三丰"))
    assert nodes == {f"person:{P5}"} and ids(sel) == {F_ROSTER}


def test_public_searches_masked_forms_only(run):
    data = open_run(run, audience="public")
    assert find(data, Filters(query="秦梅兴"))[1] == set()
    assert find(data, Filters(query=P1))[1] == set()
    assert find(data, Filters(query="qinmeixing"))[1] == set()
    sel, nodes = find(data, Filters(query="秦*兴"))
    assert nodes == {f"person:{P1}"} and F_POOL in ids(sel)
    assert f"person:{P1}" in find(data, Filters(query=P1[:4] + "*" * 10 + P1[-4:]))[1]
    assert f"account:{A1}" in find(data, Filters(query=A1[:4] + "*" * 11 + A1[-4:]))[1]


def test_display_is_chinese_in_yuan_and_masked_for_public(run):
    data = open_run(run)
    sel, _ = find(data, Filters(township="甲街道"))
    table = display_findings(sel)
    assert list(table.columns[:3]) == ["疑点编号", "风险等级", "街道(乡镇)"]
    assert "涉及金额（元）" in table.columns and "台账状态" in table.columns
    row = table[table["疑点编号"] == F_POOL].iloc[0]
    assert row["涉及金额（元）"] == "7,680.00" and row["风险等级"] == "高" and row["对象类型"] == "账户"
    public = display_findings(sel, "public", names=data.names_in(sel))
    assert "疑点编号" not in public.columns
    text = public.to_string()
    # the one masking implementation (core.mask): digit runs keep 4 + 4, names 张*丰
    assert A1 not in text and P1 not in text and A1[:4] + "*" * 11 + A1[-4:] in text
    assert "秦梅兴" not in text and "秦*兴" in text


def test_html_table_shows_full_text_escaped():
    long = "很长的说明" * 60 + "<b>"
    out = html_table(pd.DataFrame({"说明": [long]}), row_ids=["x1"])
    assert ("很长的说明" * 60) in out and "&lt;b&gt;" in out and "…" not in out
    assert 'data-id="x1"' in out and "共 1 条" in out


def test_sort_by_money_and_severity(run):
    data = open_run(run)
    f = data.findings
    assert sort_findings(f, "amount_fen", False)["finding_id"].tolist() == [F_RING, F_POOL, F_DEAD, F_ROSTER]
    assert sort_findings(f)["finding_id"].tolist() == [F_POOL, F_DEAD, F_RING, F_ROSTER]


def test_work_dir_from_manifest(tmp_path):
    """A public run keeps intake/ and analysis/ in the work folder the manifest names."""
    make_run(tmp_path / "run.internal")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text(
        '{"work_dir": "%s"}' % (tmp_path / "run.internal"), encoding="utf-8")
    data = open_run(tmp_path / "run", audience="public")
    assert data.work_dir == tmp_path / "run.internal" and len(data.findings) == 4

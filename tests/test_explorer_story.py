"""Explorer: a person's story and the network around them (from the stored edge table)."""

from __future__ import annotations

import pytest

from explorer_fixture import A1, A4, F_DEAD, F_POOL, F_RING, P1, P2, P3, P4, PH1, make_run
from onecard.explorer.data import open_run
from onecard.explorer.network import Neighbourhood, edge_index, path_table, svg_neighbourhood, why_linked
from onecard.explorer.story import person_story


@pytest.fixture()
def run(tmp_path):
    return make_run(tmp_path / "run")


def test_holder_story_includes_findings_about_his_account(run):
    """The holder of a pooled account is not "0 findings": the account's finding is his."""
    st = person_story(open_run(run), P1)
    assert set(st.findings["finding_id"]) == {F_POOL, F_RING}
    how = dict(zip(st.findings_display["疑点编号"], st.findings_display["关联方式"]))
    assert how[F_POOL] == "本人账户/手机号"
    assert how[F_RING] == "关联方（被列为关联对象）"
    assert st.card["账户"] == A1 and st.card["手机号"] == PH1 and st.card["角色"] == "持卡人"
    assert st.rings["总分"].tolist() == [44.0] and st.rings["得分·户数"].tolist() == [30.0]


def test_story_of_beneficiary_timeline_entitlements_and_sources(run):
    st = person_story(open_run(run), P2)
    assert set(st.findings["finding_id"]) == {F_POOL, F_DEAD, F_RING}
    assert st.months["due_fen"].tolist() == [60000, 0, 0]      # stopped after death
    assert st.months["paid_fen"].tolist() == [60000, 60000, 60000]
    assert "death" in set(st.events["kind"])
    assert st.entitlements.iloc[0]["补贴项目"] == "困难残疾人生活补贴"
    assert st.entitlements.iloc[0]["月标准(元)"] == "600.00"
    src = st.sources[st.sources["疑点编号"] == F_DEAD]
    assert src[["文件", "工作表", "行"]].values.tolist() == [["发放明细.csv", "", 12], ["死亡名单.xlsx", "死亡", 3]]


def test_public_story_is_masked(run):
    st = person_story(open_run(run, audience="public"), P1)
    text = str(st.card) + st.findings_display.to_string() + st.sources.to_string() + st.title
    for secret in (P1, P2, A1, PH1, "秦梅兴", F_POOL):
        assert secret not in text
    assert st.card["姓名"] == "秦*兴" and st.card["身份证号"] == "4201**********0231"


def test_neighbourhood_one_hop_at_a_time(run):
    data = open_run(run)
    nb = Neighbourhood.around(edge_index(data), f"person:{P1}")
    assert nb.nodes == [f"person:{P1}", f"account:{A1}"]
    added = nb.expand(f"account:{A1}")
    assert set(added) == {f"person:{P2}", f"person:{P3}", f"phone:{PH1}"}
    assert nb.expand(f"account:{A1}") == []              # already expanded
    assert set(nb.expand(f"phone:{PH1}")) == {f"person:{P4}"}
    assert f"account:{A4}" not in nb.nodes               # two hops from P4's phone: not yet
    assert len(nb.edges()) == 5


def test_why_linked_is_a_path_of_facts(run):
    data = open_run(run)
    path = why_linked(edge_index(data), f"person:{P4}", f"person:{P1}")
    assert path["kind"].tolist() == ["contact_phone", "reserved_phone", "holds"]
    table = path_table(data, path)
    assert table["关系"].tolist() == ["联系电话", "预留手机号", "持有账户"]
    assert table["从"].iloc[0].startswith("阿依古丽·买买提")
    assert why_linked(edge_index(data), f"person:{P4}", "person:nobody").empty


def test_svg_drawing_shapes_and_masking(run):
    pub = open_run(run, audience="public")
    nb = Neighbourhood.around(edge_index(pub), f"person:{P1}")
    nb.expand(f"account:{A1}")
    svg = svg_neighbourhood(pub, nb, {f"person:{P1}", f"person:{P2}"})
    assert svg.startswith("<svg") and svg.count("<circle") >= 3 and "<rect x=" in svg and "<polygon" in svg
    assert "关联圈成员" in svg and "持有账户" in svg
    for secret in (P1, P2, A1, PH1, "秦梅兴"):
        assert secret not in svg
    assert "秦*兴" in svg and "6228***********6059" in svg

"""Issue 10, fast part: free-text masking, 公开编号, public graph files, explorer,
Excel truncation note, and a run folder that cannot execute code when opened."""

from __future__ import annotations

import json
import pickle
import sys
from pathlib import Path

import networkx as nx
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from graph_fixtures import frame, pay, pid  # noqa: E402

from onecard.analysis.district import Analysis, load_analysis  # noqa: E402
from onecard.core.findings import finalize  # noqa: E402
from onecard.core.mask import (Publisher, TextMasker, mask_frame, people_names,  # noqa: E402
                               public_numbers)
from onecard.graph import build_network, export_graph  # noqa: E402
from onecard.report.excel import TRUNCATION_NOTE, XLSX_CELL_LIMIT, write_xlsx  # noqa: E402

P = [pid(i) for i in range(6)]
K1 = "6217000000000001"


def test_free_text_names_and_digits_are_masked_longest_first():
    m = TextMasker(["石某琴", "吴某秀", "吕某洋", "欧阳", "欧阳小明", "王"])
    s = pd.Series(["补贴对象石某琴，转入他人账户：吴某秀（6217000000000001）",
                   "公职人员吕某洋，电话13900000001，身份证42011419800101123X",
                   "欧阳小明与欧阳", "王村委会", None], dtype="string")
    out = m.series(s)
    assert out[0] == "补贴对象石*琴，转入他人账户：吴*秀（6217********0001）"
    assert out[1] == "公职人员吕*洋，电话139****0001，身份证4201**********123X"
    assert out[2] == "欧**明与欧*"          # the 4-character name is masked whole
    assert out[3] == "王村委会"              # 1-character names never wipe text
    assert pd.isna(out[4])
    assert m.text("2020-01至2021-12共24个月，合计2,400.00元") == "2020-01至2021-12共24个月，合计2,400.00元"


def test_people_names_come_from_every_name_column():
    tables = {"payouts": pd.DataFrame({"name": ["张三丰", "李"], "account_name": ["吴某秀", None]}),
              "roster": pd.DataFrame({"name": ["张三丰"], "guardian_name": ["欧阳小明"]}),
              "cards": pd.DataFrame({"holder_name": ["石某琴"], "opened_by": ["赵经办"]}),
              "officials": pd.DataFrame({"name": ["吕某洋"]})}
    assert people_names(tables) == ["欧阳小明", "吕某洋", "吴某秀", "张三丰", "石某琴", "赵经办"]


def _findings():
    rid = "R0123456789ab"
    f = finalize(pd.DataFrame({
        "rule_id": ["PAID_AFTER_DEATH", "SHARED_IDENTIFIER_RING"], "subject_type": ["person", "ring"],
        "subject_id": [P[0], rid], "related_ids": [K1, f"{P[1]};{P[2]}"], "name": ["石某琴", None],
        "township": ["奓山街道", "奓山街道"], "severity": ["high", "high"],
        "evidence": ["补贴对象石某琴死亡后仍发放，转入吴某秀账户" + K1, f"关联圈{rid}共3户"]}), run_id="x")
    rings = pd.DataFrame({"ring_id": [rid], "township": ["奓山街道"], "score": [30.0],
                          "members": [f"{P[1]};{P[2]}"]})
    return f, rings, rid


def test_public_numbers_replace_every_hash_id():
    f, rings, rid = _findings()
    numbers = public_numbers(f, rings)
    assert numbers["public_no"].tolist() == ["GK-0001", "GK-0002", "GQ-001"]
    pub = Publisher(["石某琴", "吴某秀"], numbers)
    out = pub.frame(f)
    assert "finding_id" not in out.columns and out["public_no"].tolist() == ["GK-0001", "GK-0002"]
    assert out.loc[1, "subject_id"] == "GQ-001" and out.loc[1, "evidence"] == "关联圈GQ-001共3户"
    assert out.loc[0, "evidence"] == "补贴对象石*琴死亡后仍发放，转入吴*秀账户6217********0001"
    assert out.loc[0, "subject_id"] == P[0][:4] + "*" * 10 + P[0][-4:]
    assert out.loc[0, "name"] == "石*琴" and out.loc[0, "township"] == "奓山街道"
    text = out.to_csv()
    for secret in [rid, rid[1:], *f["finding_id"], P[0], P[1], K1, "石某琴", "吴某秀"]:
        assert secret not in text, secret
    # ring table: id -> number, members masked, household -> sequence
    r = pub.frame(rings.assign(household=[P[1]]))
    assert r.loc[0, "ring_id"] == "GQ-001" and P[1] not in r.loc[0, "members"]
    assert r.loc[0, "household"] == "户1"
    # without a publisher: the name column and digit runs are still masked
    plain = mask_frame(f)
    assert plain["public_no"].tolist() == ["GK-?", "GK-?"] and K1 not in plain.loc[0, "evidence"]


@pytest.fixture(scope="module")
def ring_net():
    payouts = frame("payouts", [pay(P[0], K1, name="石某琴"), pay(P[1], K1, name="吴某秀"),
                                pay(P[2], K1, name="吕某洋"), pay(P[3], "6217000000000002")])
    cards = frame("cards", [{"account_no": K1, "holder_id": P[0], "phone": "13900000001"}])
    roster = frame("roster", [{"person_id": p, "name": n, "household_id": f"H{i}", "township": "奓山街道",
                               "village": "星光村", "address": f"星光村{i}号"}
                              for i, (p, n) in enumerate(zip(P[:4], ["石某琴", "吴某秀", "吕某洋", "丁某"]))])
    return build_network({"payouts": payouts, "cards": cards, "roster": roster})


def test_public_graph_files_hold_no_id_name_household_or_ring_id(ring_net, tmp_path):
    rid = ring_net.rings.iloc[0]["ring_id"]
    pub = Publisher(["石某琴", "吴某秀", "吕某洋", "丁某"], public_numbers(None, ring_net.rings))
    for fmt in ("graphml", "gexf"):
        path = export_graph(ring_net, tmp_path / f"t.{fmt}", township="奓山街道", fmt=fmt,
                            audience="public", publisher=pub)
        text = path.read_text(encoding="utf-8")
        for secret in [*P[:4], K1, "13900000001", "石某琴", "吴某秀", "H0", "H1", rid]:
            assert secret not in text, (fmt, secret)
        g = nx.read_graphml(path) if fmt == "graphml" else nx.read_gexf(path)
        people = {d["label"] for _, d in g.nodes(data=True) if d.get("kind") == "person"}
        assert {"石*琴", "吴*秀", "吕*洋", "丁*"} <= people
        rings = {d.get("ring_id") for _, d in g.nodes(data=True) if d.get("ring_id")}
        assert rings == {"GQ-001"}
        assert {d["household"] for _, d in g.nodes(data=True) if d.get("kind") == "person"} == \
            {"户1", "户2", "户3", "户4"}
    internal = export_graph(ring_net, tmp_path / "i.graphml", township="奓山街道")
    assert P[0] in internal.read_text(encoding="utf-8")  # internal keeps the full data


def _analysis(ring_net, f):
    return Analysis(findings=f, rule_status=pd.DataFrame({"rule_id": ["X"], "checked": [True]}),
                    network=ring_net, meta={"run_id": "x"})


def test_network_saved_as_data_and_rebuilt(ring_net, tmp_path):
    f, _, _ = _findings()
    _analysis(ring_net, f).save(tmp_path / "analysis")
    assert not list((tmp_path / "analysis").rglob("*.pkl"))
    net = load_analysis(tmp_path / "analysis").network
    pd.testing.assert_frame_equal(net.persons, ring_net.persons, check_dtype=False)
    pd.testing.assert_frame_equal(net.rings, ring_net.rings, check_dtype=False)
    assert net.graph.number_of_nodes() == ring_net.graph.number_of_nodes()
    assert set(net.graph.edges) == set(ring_net.graph.edges)
    assert net.component.to_dict() == ring_net.component.to_dict()
    ids = pd.read_csv(tmp_path / "analysis" / "public_ids.csv", dtype=str, encoding="utf-8-sig")
    assert ids["public_no"].tolist()[:2] == ["GK-0001", "GK-0002"]


class _Bomb:
    """Unpickling this creates a file: proof that code ran."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (Path.write_text, (Path(self.target), "pwned"))


def test_planted_pickle_in_a_run_folder_never_executes(ring_net, tmp_path):
    from onecard.explorer.data import open_run
    from onecard.views import review

    f, _, _ = _findings()
    run_dir = tmp_path / "run"
    _analysis(ring_net, f).save(run_dir / "analysis")
    (run_dir / "intake").mkdir()
    frame("payouts", [pay(P[0], K1)]).to_parquet(run_dir / "intake" / "payouts.parquet")
    marker = tmp_path / "executed.txt"
    (run_dir / "analysis" / "network.pkl").write_bytes(pickle.dumps(_Bomb(str(marker))))
    run = review.load_run(run_dir)
    data = open_run(run_dir, audience="public")
    assert run.analysis.network.graph.number_of_nodes() > 0 and len(data.edges) > 0
    assert not marker.exists()
    # the bomb is real: unpickling it does create the file
    pickle.loads((run_dir / "analysis" / "network.pkl").read_bytes())
    assert marker.read_text() == "pwned"


def test_run_folder_and_work_folder_apart_and_public_explorer(ring_net, tmp_path):
    from onecard.explorer.data import open_run
    from onecard.explorer.find import Filters, display_findings, find
    from onecard.explorer.story import person_story
    from onecard.views import review

    f, _, _ = _findings()
    run_dir, work = tmp_path / "run", tmp_path / "run.internal"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps({"parameters": {"audience": "public"},
                                                       "work_dir": str(work)}))
    _analysis(ring_net, f).save(work / "analysis")
    (work / "intake").mkdir()
    frame("payouts", [pay(P[0], K1, name="石某琴"), pay(P[1], K1, name="吴某秀")]).to_parquet(
        work / "intake" / "payouts.parquet")
    run = review.load_run(run_dir, work_dir=work)
    assert run.work == work and run.manifest["parameters"]["audience"] == "public"
    data = open_run(run_dir, audience="public")
    assert data.work_dir == work
    found, _ = find(data, Filters())
    shown = display_findings(found, "public", names=data.names_in(found))
    text = shown.to_csv()
    assert len(shown) == 2 and "疑点编号" not in shown.columns
    assert "吴某秀" not in text and P[0] not in text and K1 not in text
    # public search runs over masked forms: a full ID or name finds nothing
    assert find(data, Filters(query=P[0]))[0].empty
    assert find(data, Filters(query="石某琴"))[0].empty
    internal = open_run(run_dir, audience="internal")
    assert len(find(internal, Filters(query=P[0]))[0]) >= 1
    story = person_story(data, P[0])
    shown_story = json.dumps(story.card, ensure_ascii=False) + story.findings_display.to_csv()
    assert P[0] not in shown_story and "石某琴" not in shown_story


def test_xlsx_cell_over_excel_limit_says_it_was_cut(tmp_path):
    from openpyxl import load_workbook

    long = "甲" * (XLSX_CELL_LIMIT + 10)
    stats = {}
    write_xlsx(pd.DataFrame({"evidence": [long, "短"]}), tmp_path / "a.xlsx", stats=stats)
    assert stats == {"truncated": 1}
    cell = load_workbook(tmp_path / "a.xlsx").active["A2"].value
    assert len(cell) == XLSX_CELL_LIMIT and cell.endswith(TRUNCATION_NOTE)
    assert cell.startswith("甲" * 100)

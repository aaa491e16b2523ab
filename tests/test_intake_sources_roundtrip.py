"""B09 follow-up: the mapping intake chose is saved and can be reused as sources.yaml."""

import shutil

import yaml

from onecard.intake import intake_path


def test_detected_mapping_round_trips_as_sources_yaml(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "发放明细.csv").write_text(
        "身份证号,姓名,补贴项目,所属期,发放金额,银行卡号\n"
        "110101195803120138,张一,重度残疾人护理补贴,2021-05,100.00,6228480000000012344\n"
        "11010119620907804X,王三,重度残疾人护理补贴,2021-05,100.00,6217000000000000103\n",
        encoding="gb18030")
    first = intake_path(data)
    first.write(tmp_path / "out")
    detected = yaml.safe_load((tmp_path / "out" / "sources_detected.yaml").read_text(encoding="utf-8"))
    assert detected["发放明细.csv"]["table"] == "payouts"
    assert detected["发放明细.csv"]["columns"]["身份证号"] == "person_id"
    assert detected["发放明细.csv"]["columns"]["发放金额"] == "amount"
    shutil.copy(tmp_path / "out" / "sources_detected.yaml", data / "sources.yaml")
    again = intake_path(data)
    cols = ["person_id", "amount", "period", "account_no"]
    assert again.tables["payouts"][cols].equals(first.tables["payouts"][cols])
    assert again.tables["payouts"]["amount"].tolist() == [10000, 10000]

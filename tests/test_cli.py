import subprocess
import sys


def onecard(*args):
    return subprocess.run([sys.executable, "-m", "onecard.cli", *args], capture_output=True,
                          text=True, timeout=300)


def test_missing_data_folder_is_a_clear_chinese_error(tmp_path):
    proc = onecard("run", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert "数据目录不存在" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_folder_without_payouts_stops_with_clear_error(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "说明.txt").write_text("这是说明文件，不是数据表。", encoding="utf-8")
    (data / "死亡人员.csv").write_text("姓名,身份证号,死亡日期\n张一,110101195803120138,2020-07-14\n",
                                     encoding="gb18030")
    proc = onecard("run", "--data", str(data), "--out", str(tmp_path / "run"))
    assert proc.returncode == 2
    assert "没有可读取的一卡通发放明细" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_township_is_rejected_before_any_work(tmp_path):
    proc = onecard("run", "--data", str(tmp_path), "--out", str(tmp_path / "run"),
                   "--township", "东华门街道")
    assert proc.returncode == 2 and "无法识别的街道" in proc.stderr
    assert not (tmp_path / "run").exists()


def test_rules_lists_every_required_rule():
    proc = onecard("rules")
    assert proc.returncode == 0
    required = """SPLIT_PAYMENT UNLISTED_ITEM LATE_PAYMENT SHORT_PAYMENT MISSED_MONTH
    ELIGIBLE_NOT_ENROLLED OVER_STANDARD INELIGIBLE_GRADE INELIGIBLE_NO_DIBAO PAID_AFTER_DEATH
    PAID_AFTER_MOVE PAID_AFTER_CERT_END PAID_IN_CUSTODY DUPLICATE_PAYMENT EXCLUSIVE_BENEFIT
    NOT_IN_ROSTER ACCOUNT_NOT_REGISTERED PAYEE_NOT_BENEFICIARY POOLED_ACCOUNT DISCLOSURE_MISMATCH
    NO_APPROVAL_RECORD ROSTER_STATUS_STALE FAILED_NOT_RESOLVED MULTIPLE_ACCOUNTS BANK_NOT_APPROVED
    FEE_DEDUCTED OFFICIAL_RECIPIENT OFFICIAL_RELATIVE SELF_APPROVAL INVALID_ID CERT_ID_MISMATCH
    SHARED_IDENTIFIER_RING OFFICIAL_ACCOUNT_RECEIVES CUSTODIAN_PHONE""".split()
    listed = {line.split()[0] for line in proc.stdout.splitlines() if line and line[0].isupper()}
    assert set(required) <= listed, set(required) - listed


def test_readme_method_table_is_generated_from_the_catalogue():
    from pathlib import Path
    script = Path(__file__).resolve().parents[1] / "scripts" / "update_readme.py"
    proc = subprocess.run([sys.executable, str(script), "--check"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, "README 方法表已过期：运行 scripts/update_readme.py"

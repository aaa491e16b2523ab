"""Chinese labels shown to users, defined once (reports, Excel, notebooks, explorer).

Templates receive these mappings; they never retype a label.
"""

from __future__ import annotations

__all__ = ["SEVERITY_ZH", "SUBJECT_TYPE_ZH", "FINDING_COLUMNS_ZH", "SCORE_PART_ZH", "severity_zh",
           "subject_type_zh", "format_score"]

#: Finding severity (``findings.severity``).
SEVERITY_ZH = {"high": "高", "medium": "中", "low": "低"}

#: Finding subject types (``findings.subject_type``).
SUBJECT_TYPE_ZH = {"person": "个人", "account": "账户", "phone": "手机号", "address": "地址",
                   "ring": "关联圈", "subsidy": "补贴项目", "batch": "发放批次"}

#: Chinese column headers of the findings columns (DATA_CONTRACT.md "Findings"), for
#: the Excel workbooks and the explorer. The CSV keeps the machine names.
FINDING_COLUMNS_ZH = {
    "finding_id": "疑点编号", "rule_id": "规则编号", "clause": "条款", "severity": "风险等级",
    "township": "街道(乡镇)", "village": "村(社区)", "subject_type": "对象类型", "subject_id": "对象标识",
    "related_ids": "关联对象", "name": "姓名", "subsidy": "补贴项目", "period_start": "起始年月",
    "period_end": "截止年月", "months": "月数", "amount_fen": "涉及金额（分）", "evidence": "疑点说明及依据",
    "run_id": "运行编号",
}


def severity_zh(value) -> str:
    """Chinese severity, or the value itself when unknown."""
    return SEVERITY_ZH.get(str(value), str(value))


def subject_type_zh(value) -> str:
    """Chinese subject type, or the value itself when unknown."""
    return SUBJECT_TYPE_ZH.get(str(value), str(value))


#: Parts of the ring score (``score_weights`` in parameters/graph.yaml): Chinese wording.
SCORE_PART_ZH = {"households": "不相关户数", "persons": "人数", "money_per_10k_yuan": "经关联账户发放金额（每万元）",
                 "shared_addresses": "跨户共用地址数", "status_members": "死亡/迁出/不在库成员数",
                 "officials": "公职人员或其亲属人数", "bulk_opened": "同一经办人同日开卡数"}


def format_score(value) -> str:
    """A ring score as shown everywhere (drawing title, tables): one decimal, e.g. ``55.0``."""
    try:
        return f"{float(value):.1f}"
    except (TypeError, ValueError):
        return ""

"""Canonical tables: the one description of every table the library works with.

Each table maps canonical column -> value kind. The kind decides the normaliser
intake applies and the dtype the column has afterwards:

================  ==========================================================
kind              canonical form after intake (dtype)
================  ==========================================================
``id``            18-character resident ID, text (``string``); see ``ids.py``
``cert``          20-character certificate number, text (``string``)
``account``       digits only, text (``string``); masked values kept as given
``phone``         digits only, text (``string``); placeholders -> missing
``bank``          canonical bank name (``string``)
``money``         integer fen (``Int64``); 1 yuan = 100 fen
``month``         calendar month (``period[M]``)
``date``          date (``datetime64[s]``)
``name``          whitespace removed, middle dots unified (``string``)
``address``       normalised address (``string``); raw kept in ``address_raw``
``township``      official township name (``string``); code in ``township_code``
``village``       official village name (``string``); code in ``village_code``
``int``           small integer (``Int64``): grade 1-4, category 1-7
``status``        payout status code (``string``): see ``PAYOUT_STATUS``
``text``          stripped text (``string``)
================  ==========================================================

Every canonical table also carries the provenance columns ``_file``, ``_sheet``,
``_row`` (1-based row as Excel shows it) and ``_flags`` (``;``-separated).

Source: ``DATA_CONTRACT.md`` (Tables, Identifiers and values).
"""

from __future__ import annotations

PROVENANCE = ["_file", "_sheet", "_row", "_flags"]

TABLES: dict[str, dict[str, str]] = {
    "payouts": {
        "payout_id": "text", "batch_id": "text", "period": "month", "paid_month": "month",
        "paid_on": "date", "subsidy": "text", "person_id": "id", "name": "name",
        "account_no": "account", "account_name": "name", "bank": "bank", "amount": "money",
        "net_amount": "money", "fee": "money", "status": "status", "returned_on": "date",
        "township": "township", "village": "village", "paying_unit": "text", "fund_source": "text",
    },
    "roster": {
        "person_id": "id", "name": "name", "cert_no": "cert", "category": "int", "grade": "int",
        "cert_status": "cert_status", "cert_issued": "date", "cert_expires": "date",
        "cert_cancelled_on": "date", "hukou_type": "hukou", "township": "township",
        "village": "village", "address": "address", "phone": "phone", "guardian_id": "id",
        "guardian_name": "name", "household_id": "text", "extract_date": "date",
    },
    "entitlements": {
        "person_id": "id", "name": "name", "subsidy": "text", "start_month": "month",
        "end_month": "month", "monthly_amount": "money", "approved_on": "date",
        "approver": "text", "handler": "text", "status": "text",
    },
    "cards": {
        "account_no": "account", "holder_id": "id", "holder_name": "name", "bank": "bank",
        "opened_on": "date", "closed_on": "date", "phone": "phone", "address": "address",
        "opened_by": "text", "card_status": "text", "institution": "text",
    },
    "deaths": {
        "person_id": "id", "name": "name", "died_on": "date", "source": "text",
        "township": "township", "village": "village",
    },
    "moves": {
        "person_id": "id", "name": "name", "moved_on": "date", "destination": "text",
        "township": "township", "village": "village",
    },
    "custody": {
        "person_id": "id", "name": "name", "start": "date", "end": "date",
        "township": "township", "village": "village",
    },
    "dibao": {
        "person_id": "id", "name": "name", "program": "text", "start_month": "month",
        "end_month": "month", "household_head_id": "id", "township": "township",
        "village": "village",
    },
    "other_benefits": {
        "person_id": "id", "name": "name", "program": "text", "start_month": "month",
        "end_month": "month", "monthly_amount": "money",
    },
    "officials": {
        "person_id": "id", "name": "name", "employer": "text", "position": "text",
        "township": "township", "village": "village", "phone": "phone", "account_no": "account",
    },
    "relations": {"official_id": "id", "relative_id": "id", "relation": "text"},
    "banks": {"bank": "bank", "approved_from": "date", "approved_to": "date"},
    "disclosures": {
        "name": "name", "person_id": "masked_id", "village": "village", "subsidy": "text",
        "amount": "money", "period": "month", "township": "township",
    },
}

#: Required columns. Each entry is a list of alternatives groups: every group
#: must be covered by at least one of its columns. Source: DATA_CONTRACT.md.
REQUIRED: dict[str, list[tuple[str, ...]]] = {
    "payouts": [("person_id",), ("amount",), ("subsidy",), ("period", "paid_month")],
    "roster": [("person_id",), ("grade", "cert_no")],
    "entitlements": [("person_id",), ("subsidy",), ("start_month",)],
    "cards": [("account_no",), ("holder_id",)],
    "deaths": [("person_id", "name"), ("died_on",)],
    "moves": [("person_id", "name"), ("moved_on",)],
    "custody": [("person_id", "name"), ("start",)],
    "dibao": [("person_id",), ("start_month",)],
    "other_benefits": [("person_id",), ("program",)],
    "officials": [("person_id", "name")],
    "relations": [("official_id",), ("relative_id",)],
    "banks": [("bank",)],
    "disclosures": [("name",), ("amount",)],
}

#: Tables whose rows without an ID are quarantined (``id_missing``); in every
#: other table such rows are kept and flagged ``no_id``.
ID_REQUIRED_TABLES = ("payouts", "roster", "entitlements", "cards")

#: Chinese names of the tables, for messages and reports.
TABLE_LABELS: dict[str, str] = {
    "payouts": "一卡通发放明细", "roster": "残疾人基础信息", "entitlements": "补贴享受名单",
    "cards": "一卡通账户", "deaths": "死亡人员名单", "moves": "户籍迁出名单",
    "custody": "服刑在押人员名单", "dibao": "低保特困名单", "other_benefits": "其他待遇名单",
    "officials": "公职人员及村(社区)干部名单", "relations": "亲属关系名单",
    "banks": "代理银行准入名单", "disclosures": "公示名单",
}

#: Canonical payout status codes -> Chinese label. Rows without a status
#: column are ``paid``.
PAYOUT_STATUS: dict[str, str] = {
    "paid": "成功", "failed": "失败", "returned": "退回", "to_treasury": "退回国库",
    "reversed": "冲正",
}

#: Canonical certificate status codes -> Chinese label.
CERT_STATUS: dict[str, str] = {
    "active": "正常", "cancelled": "注销", "moved": "迁出", "expired": "过期",
}

#: Canonical registration (hukou) types -> Chinese label.
HUKOU_TYPES: dict[str, str] = {"urban": "城镇", "rural": "农村"}

#: Disability categories (digit 19 of a certificate number).
CATEGORIES: dict[int, str] = {
    1: "视力", 2: "听力", 3: "言语", 4: "肢体", 5: "智力", 6: "精神", 7: "多重",
}

#: Disability grades (digit 20 of a certificate number); 1 is the most severe.
GRADES: dict[int, str] = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def columns(table: str) -> list[str]:
    """Canonical columns of ``table`` (without provenance).

    Raises
    ------
    KeyError
        If ``table`` is not a canonical table.
    """
    return list(TABLES[table])

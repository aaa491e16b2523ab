"""The masked rectification list (整改公示) for the district portal.

Nothing published identifies a person: no name in full (masked by the
``mask_name`` callable given, by default :func:`mask_name`), no ID, account or
phone (free text is scrubbed of any 15/18-digit ID, 16-19 digit account and
11-digit mobile number), and no finding id or other hash of an identifier:
rows carry a per-list sequence number (公开编号).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..core.mask import mask_name
from .cells import write_sheet
from .exports import state_at
from .store import Ledger, LedgerError
from .workflow import CLOSED, CONFIRMED, RECTIFYING

PUBLISHED_STATUSES = (CONFIRMED, RECTIFYING, CLOSED)
_ID = re.compile(r"(?<![0-9])(\d{4})\d{10}(\d{3}[0-9Xx])(?![0-9])|(?<![0-9])(\d{4})\d{7}(\d{4})(?![0-9])")
_ACCOUNT = re.compile(r"(?<![0-9])(\d{4})\d{8,11}(\d{4})(?![0-9])")
_PHONE = re.compile(r"(?<![0-9])(1\d{2})\d{4}(\d{4})(?![0-9])")


def scrub_text(values: pd.Series) -> pd.Series:
    """Mask IDs, account numbers and mobile numbers inside free text."""
    s = values.astype("string")
    s = s.str.replace(_ID, lambda m: (m.group(1) or m.group(3)) + "**********" + (m.group(2) or m.group(4))[-4:],
                      regex=True)
    s = s.str.replace(_ACCOUNT, lambda m: m.group(1) + "********" + m.group(2), regex=True)
    return s.str.replace(_PHONE, lambda m: m.group(1) + "****" + m.group(2), regex=True)


def publish_frame(ledger: Ledger, *, month: str, mask: Callable[[pd.Series], pd.Series] = mask_name,
                  rule_titles: dict[str, str] | None = None) -> pd.DataFrame:
    """The 整改公示 rows as of the end of ``month``: items 属实, 整改中 or 已整改销号."""
    try:
        cutoff = pd.Period(month, freq="M").end_time.strftime("%Y-%m-%d")
    except (ValueError, TypeError) as exc:
        raise LedgerError(f"月份“{month}”无效，应为 YYYY-MM。") from exc
    items = state_at(ledger, cutoff)
    items = items[items["status"].isin(PUBLISHED_STATUSES)].sort_values(["township", "village", "item_id"])
    titles = rule_titles or {}
    kind = items["rule_id"].map(titles).astype("string").fillna("条款 " + items["clause"].fillna("未填").astype("string"))
    return pd.DataFrame({
        "公开编号": range(1, len(items) + 1),
        "街道(乡镇)": items["township"].to_numpy(), "村(社区)": items["village"].to_numpy(),
        "问题类型": kind.to_numpy(), "涉及对象": mask(items["name"].fillna("")).to_numpy(),
        "补贴项目": items["subsidy"].to_numpy(),
        "问题金额(元)": (items["amount_fen"].fillna(0).astype("int64") / 100).to_numpy(),
        "整改措施": scrub_text(items["measure"].fillna("")).to_numpy(),
        "整改状态": items["status"].to_numpy(), "整改期限": items["deadline"].to_numpy(),
        "追回金额(元)": (items["money_recovered_fen"].fillna(0).astype("int64") / 100).to_numpy()})


def publish(ledger: Ledger, out_dir, *, month: str, mask: Callable[[pd.Series], pd.Series] = mask_name,
            rule_titles: dict[str, str] | None = None) -> Path:
    """Write ``整改公示_<month>.xlsx`` (masked) to ``out_dir``; returns the path."""
    frame = publish_frame(ledger, month=month, mask=mask, rule_titles=rule_titles)
    path = Path(out_dir) / f"整改公示_{month}.xlsx"
    write_sheet(path, {"整改公示": frame}, money={"问题金额(元)", "追回金额(元)"},
                notes={"整改公示": [f"一卡通专项治理问题整改公示（截至{month}）", "个人信息已脱敏。"]})
    return path

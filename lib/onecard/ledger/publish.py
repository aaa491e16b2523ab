"""The masked rectification list (整改公示) for the district portal.

Nothing published identifies a person: no name in full (masked by the
``mask_name`` callable given, by default :func:`mask_name`), no ID, account or
phone (free text goes through core.mask.TextMasker: the items' names and every
11+ digit run are masked), and no finding id or other hash of an identifier:
rows carry a per-list sequence number (公开编号).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from ..core.mask import TextMasker, mask_name
from .cells import write_sheet
from .exports import state_at
from .store import Ledger, LedgerError
from .workflow import CLOSED, CONFIRMED, RECTIFYING

PUBLISHED_STATUSES = (CONFIRMED, RECTIFYING, CLOSED)


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
        "整改措施": TextMasker(items["name"].dropna()).series(items["measure"].fillna("")).to_numpy(),
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

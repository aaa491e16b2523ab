"""Report charts (matplotlib, Chinese labels through the registered CJK font).

Each function returns a Figure; :func:`to_data_uri` embeds it in HTML. The CJK
font is registered first (``fonts.use_cjk_font``), so no glyph goes missing.
"""

from __future__ import annotations

import base64
import io

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..core.fonts import use_cjk_font


def findings_by_rule_chart(by_rule: pd.DataFrame, title: str = "各类疑点数量"):
    """Horizontal bar chart of findings per rule (``title_zh``, ``findings`` columns)."""
    use_cjk_font()
    data = by_rule[by_rule["findings"] > 0].sort_values("findings").tail(15)
    fig, ax = plt.subplots(figsize=(7.5, min(5.0, max(2.2, 0.28 * len(data) + 1))))
    if data.empty:
        ax.text(0.5, 0.5, "本范围内未发现疑点", ha="center", va="center", fontsize=12)
        ax.set_axis_off()
    else:
        ax.barh(data["title_zh"], data["findings"], color="#b5523b")
        ax.tick_params(axis="y", labelsize=9)
        for y, v in enumerate(data["findings"]):
            ax.text(v, y, f" {v}", va="center", fontsize=8)
        ax.set_xlabel("疑点数（条）")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(title if len(by_rule[by_rule["findings"] > 0]) <= 15 else title + "（前15类）")
    fig.tight_layout()
    return fig


def monthly_payments_chart(monthly: pd.DataFrame, title: str = "各月成功发放金额（元）"):
    """Line chart of money paid per month and subsidy (``period, subsidy, paid_fen``)."""
    use_cjk_font()
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    if monthly.empty:
        ax.text(0.5, 0.5, "无发放记录", ha="center", va="center")
        ax.set_axis_off()
    else:
        wide = monthly.pivot_table(index="period", columns="subsidy", values="paid_fen",
                                   aggfunc="sum").fillna(0) / 100
        for col in wide.columns:
            ax.plot(range(len(wide)), wide[col].to_numpy(), marker="o", markersize=2.5, label=col)
        step = max(1, len(wide) // 12)
        ax.set_xticks(range(0, len(wide), step))
        ax.set_xticklabels(list(wide.index)[::step], rotation=45, fontsize=7)
        ax.set_ylabel("金额（元）")
        ax.legend(fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def townships_chart(metrics: pd.DataFrame, value: str, label: str, title: str,
                    name_column: str = "街道（乡镇）"):
    """Bar chart of one metric per township (``name_column`` + ``value`` columns)."""
    use_cjk_font()
    data = metrics.sort_values(value, ascending=False)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.bar(data[name_column], data[value].astype(float), color="#3b6fb5")
    ax.set_ylabel(label)
    ax.set_title(title)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    fig.tight_layout()
    return fig


def to_data_uri(fig, dpi: int = 110) -> str:
    """PNG data URI of ``fig`` (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

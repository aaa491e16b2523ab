"""Regenerate the README's method table from the rule catalogue (prose never drifts from code).

Usage: .venv/bin/python scripts/update_readme.py [--check]
Replaces the block between <!-- rules:start --> and <!-- rules:end -->.
With --check, exits 1 when the README is out of date (used by the tests).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "lib"))

from onecard.rules.catalogue import catalogue_frame  # noqa: E402


def method_table() -> str:
    cat = catalogue_frame()
    lines = ["| 条款 | 规则编号 | 规则 | Rule | 所需数据表 | 不应标记的合法情形 |", "|---|---|---|---|---|---|"]
    for r in cat.itertuples():
        lines.append(f"| {r.clause} | `{r.rule_id}` | {r.title_zh} | {r.title_en} | "
                     f"{r.tables.replace(';', ', ')} | {r.must_not_flag_zh or '—'} |")
    return "\n".join(lines)


def main() -> int:
    path = ROOT / "README.md"
    text = path.read_text(encoding="utf-8")
    new = re.sub(r"(<!-- rules:start -->\n).*?(<!-- rules:end -->)",
                 lambda m: m.group(1) + method_table() + "\n" + m.group(2), text, flags=re.S)
    if "--check" in sys.argv:
        return 0 if new == text else 1
    path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())

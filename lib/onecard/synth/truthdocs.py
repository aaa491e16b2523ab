"""Text of the README written into ``<out_dir>_truth/``."""

README_TEXT = """# 演示数据答案 / Demo data answers

本文件夹是 `onecard synth` 生成的演示区（蔡甸区）数据的**答案**，核查运行从不读取它。
This folder holds the **answers** for the demo district written by `onecard synth`;
a review run never reads it.

| 文件 file | 内容 | contents |
|---|---|---|
| `truth.csv` | 注入的疑点：每个规则 × 对象 × 补贴一行 | injected anomalies, one row per rule × subject × subsidy: `rule_id, subject_type, subject_id, related_ids, subsidy, period_start, period_end` (subsidy blank where the rule is not about one subsidy; rings: `subject_id` = ring id, `related_ids` = members) |
| `decoys.csv` | 合规的相似情形，不应被标记 | lawful look-alikes that must NOT be flagged: `kind, subject_type, subject_id` |
| `quarantine_expected.csv` | 应被隔离的格式问题行 | malformed rows intake must quarantine: `file, sheet, row` (1-based Excel row), `reason` |
| `summary.json` | 生成摘要：文件、行数、各规则案例数 | generation summary: files, rows per table, cases per rule, seconds |

说明 Notes:
- 公示名单只发布了 2021年6月 和 2021年12月 两期；核对公示时只比较这两期。
  The 公示 lists cover 2021-06 and 2021-12 only; compare payouts of those months only.
- 一个事实同时违反两条规则时两行都列出（如死亡后仍发放且花名册未注销）。
  Where one fact breaks two rules both rows are listed (e.g. paid after death and roster still active).
- 全部姓名、身份证号、卡号、电话均为虚构。All names, IDs, card numbers and phones are invented.
"""

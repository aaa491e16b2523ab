"""``onecard ledger ...`` sub-commands (argparse), every message Chinese.

The main CLI calls :func:`add_ledger_commands` with its sub-parsers; each
command sets ``func(args) -> int`` like the other commands, and raises
:class:`LedgerError` (a :class:`WorkbenchError`) for user mistakes, which the
main CLI prints without a traceback (exit status 2).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from ..core.findings import yuan
from .exports import export_report
from .manual import (
    SOURCES,
    add_manual,
    import_manual,
    record_submission,
    write_manual_template,
)
from .publish import publish
from .sample import draw_sample
from .store import DEFAULT_PATH, LedgerError, open_ledger
from .workflow import FIELDS, STATUSES, overdue_mask, parse_yuan, resolve, set_status
from .worksheet import import_worksheet, write_worksheet

#: CLI option -> ledger field (the FIELD TABLE's fields).
FIELD_OPTIONS = {"unit": "responsible_unit", "person": "responsible_person", "measure": "measure",
                 "deadline": "deadline", "outcome": "outcome", "confirmed": "money_confirmed_fen",
                 "recovered": "money_recovered_fen", "organ": "referral_organ",
                 "referral_date": "referral_date", "referral_ref": "referral_ref",
                 "referral_result": "referral_result", "closed_on": "closed_on"}


def _say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _open(args, *, readonly: bool = False):
    led = open_ledger(args.ledger, readonly=readonly)
    if led.created:
        _say(f"已新建台账文件：{led.path}")
    return led


def cmd_list(args) -> int:
    with _open(args) as led:
        items = led.frame("SELECT finding_id, township, village, rule_id, clause, name, status, deadline, "
                          "amount_fen, not_found_run FROM items ORDER BY township, finding_id")
        if args.township:
            items = items[items["township"] == args.township]
        if args.status:
            items = items[items["status"] == args.status]
        items["逾期"] = overdue_mask(items).map({True: "逾期", False: ""})
        if args.overdue:
            items = items[items["逾期"] == "逾期"]
        items["amount_fen"] = items["amount_fen"].fillna(0).astype(int).map(yuan)
        items["not_found_run"] = items["not_found_run"].map(lambda r: f"本次未再发现（运行 {r}）" if r else "")
        shown = items.head(args.limit).rename(columns={
            "finding_id": "编号", "township": "街道(乡镇)", "village": "村(社区)", "rule_id": "规则",
            "clause": "条款", "name": "姓名", "status": "状态", "deadline": "整改期限", "amount_fen": "金额(元)",
            "not_found_run": "标记"})
        _say(f"共 {len(items)} 条" + (f"，显示前 {args.limit} 条" if len(items) > args.limit else ""))
        if len(shown):
            with pd.option_context("display.max_rows", None, "display.width", 250, "display.max_columns", None):
                _say(shown.fillna("").to_string(index=False))
    return 0


def cmd_show(args) -> int:
    with _open(args) as led:
        item = resolve(led.con, args.finding_id)
        labels = {"finding_id": "编号", "status": "状态", "township": "街道(乡镇)", "village": "村(社区)",
                  "rule_id": "规则", "clause": "条款", "subject_id": "对象编号", "name": "姓名", "subsidy": "补贴项目",
                  "period_start": "起始月", "period_end": "终止月", "evidence": "疑点说明", "sources": "来源",
                  "case_id": "所属问题", "version": "版本", "last_run": "最近发现于运行"}
        for k, lab in labels.items():
            _say(f"{lab}：{item.get(k) if item.get(k) is not None else ''}")
        _say(f"金额：{yuan(item['amount_fen'] or 0)} 元")
        for k, (lab, kind) in FIELDS.items():
            v = item.get(k)
            _say(f"{lab}：{'' if v is None else (yuan(v) + ' 元' if kind == 'fen' else v)}")
        if item.get("not_found_run"):
            _say(f"标记：本次未再发现（运行 {item['not_found_run']}）")
        al = led.frame("SELECT finding_id FROM aliases WHERE item_id = ?", (item["item_id"],))["finding_id"]
        _say("别名：" + "、".join(a for a in al if a != item["finding_id"]))
        hist = led.frame("SELECT at, by, from_status, to_status, note, fields FROM history WHERE item_id = ? "
                         "ORDER BY history_id", (item["item_id"],)).astype(object)
        hist = hist.where(hist.notna(), None)
        _say("处理记录：")
        for r in hist.itertuples(index=False):
            _say(f"  {r.at} {r.by}：{r.from_status or '（新建）'} → {r.to_status} {r.note if r.note else ''} "
                 f"{'' if r.fields == '{}' else r.fields}")
    return 0


def cmd_set(args) -> int:
    fields = {f: getattr(args, opt) for opt, f in FIELD_OPTIONS.items() if getattr(args, opt) is not None}
    with _open(args) as led:
        changed = set_status(led, args.finding_id, args.status, by=args.by, note=args.note, fields=fields,
                             whole_case=args.case)
    _say(f"已更新 {len(changed)} 条：{'、'.join(changed)}" if changed else "没有变化。")
    return 0


def cmd_add(args) -> int:
    if args.template:
        write_manual_template(args.template)
        _say(f"已生成批量登记模板：{args.template}")
        return 0
    if not args.by:
        raise LedgerError("请用 --by 注明登记人。")
    with _open(args) as led:
        if args.file:
            ids = import_manual(led, args.file, by=args.by)
            _say(f"已登记 {len(ids)} 条问题。")
            return 0
        if not args.source:
            raise LedgerError(f"请用 --source 注明来源：{'、'.join(SOURCES)}。")
        if args.finding:
            fid = add_manual(led, source=args.source, by=args.by, finding_id=args.finding)
        else:
            fid = add_manual(led, source=args.source, by=args.by, clause=args.clause, township=args.township,
                             village=args.village, description=args.desc, persons=(args.persons or "").split(";"),
                             names=[n for n in (args.names or "").split(";") if n],
                             amount_fen=parse_yuan(args.amount, "涉及金额") if args.amount else 0,
                             subsidy=args.subsidy, category=args.category)
    _say(f"已将疑点 {fid} 标记为{args.source}发现。" if args.finding else f"已登记问题 {fid}。")
    return 0


def cmd_submit(args) -> int:
    with _open(args) as led:
        record_submission(led, args.township, args.month, args.count, by=args.by, submitted_on=args.on,
                          note=args.note)
    _say(f"已记录 {args.township} {args.month} 自查上报 {args.count} 条" + ("（零报送）" if args.count == 0 else "") + "。")
    return 0


def _command(action, message, *, readonly: bool = False):
    """A command that opens the ledger, runs ``action(ledger, args)`` and says ``message(args, result)``."""
    def run(args) -> int:
        with _open(args, readonly=readonly) as led:
            result = action(led, args)
        _say(message(args, result))
        return 0
    return run


cmd_export = _command(
    lambda led, a: export_report(led, a.out, kind="stage" if a.stage else "annual" if a.annual else "month",
                                 month=a.month, cutoff=a.cutoff),
    lambda a, path: f"已导出：{path}", readonly=True)
cmd_worksheet = _command(
    lambda led, a: write_worksheet(led, a.out, township=a.township),
    lambda a, n: f"已导出 {a.township} 核实工作表（{n} 条）：{a.out}", readonly=True)
cmd_import = _command(
    lambda led, a: import_worksheet(led, a.file, by=a.by),
    lambda a, c: f"已导入：更新 {c['changed']} 条，未变化 {c['unchanged']} 条。")
cmd_publish = _command(
    lambda led, a: publish(led, a.out, month=a.month),
    lambda a, path: f"已生成整改公示（已脱敏）：{path}", readonly=True)
cmd_backup = _command(lambda led, a: led.backup(a.out), lambda a, t: f"已备份台账到：{t}", readonly=True)


def cmd_sample(args) -> int:
    path = Path(args.run) / "intake" / "payouts.parquet"
    if not path.exists():
        raise LedgerError(f"找不到 {path}；--run 应为一次核查运行的目录（或其内部工作目录）。")
    payouts = pd.read_parquet(path)
    with _open(args) as led:
        sample = draw_sample(led, payouts, township=args.township, n=args.n, seed=args.seed,
                             no_finding_share=args.share, by=args.by)
    _say(f"已抽取 {len(sample)} 人（随机种子 {sample.attrs['seed']}，抽样记录 {sample.attrs['sample_id']}）：")
    shown = sample.rename(columns={"person_id": "身份证号", "name": "姓名", "village": "村(社区)", "group": "类别",
                                   "findings": "疑点数"}).drop(columns=["weight"])
    _say(shown.fillna("").to_string(index=False))
    if args.out:
        from .cells import write_sheet
        write_sheet(args.out, {"抽查名单": shown})
        _say(f"名单已保存：{args.out}")
    return 0


def add_ledger_commands(subparsers) -> None:
    """Register ``ledger list|show|set|add|submit|export|worksheet|import|publish|sample|backup``.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The main CLI's sub-parsers; their parser class (ChineseArgumentParser) is used.
    """
    ledger = subparsers.add_parser("ledger", help="问题台账：状态、销号、月报、移交、核实工作表")
    sub = ledger.add_subparsers(dest="ledger_command", required=True, title="台账命令")

    def cmd(name, help_text, func):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--ledger", default=None, help=f"台账文件（默认 {DEFAULT_PATH}，相对当前目录；环境变量 ONECARD_LEDGER 可改默认）")
        p.set_defaults(func=func)
        return p

    p = cmd("list", "列出台账条目", cmd_list)
    p.add_argument("--township", help="街道(乡镇)")
    p.add_argument("--status", choices=STATUSES, help="状态")
    p.add_argument("--overdue", action="store_true", help="只列逾期条目")
    p.add_argument("--limit", type=int, default=50, help="最多显示条数")
    p = cmd("show", "查看一条疑点及其处理记录", cmd_show)
    p.add_argument("finding_id", help="疑点编号")
    p = cmd("set", "记录核实、整改、移交等处理结果", cmd_set)
    p.add_argument("finding_id", help="疑点编号")
    p.add_argument("--status", choices=STATUSES, help="新状态")
    p.add_argument("--by", required=True, help="处理人")
    p.add_argument("--note", help="说明")
    p.add_argument("--case", action="store_true", help="同时处理同一问题（同一人、户或关联圈）中状态相同的条目")
    for opt, field in FIELD_OPTIONS.items():
        p.add_argument("--" + opt.replace("_", "-"), dest=opt,
                       help=FIELDS[field][0] + ("（元）" if FIELDS[field][1] == "fen" else ""))
    p = cmd("add", "登记数据规则之外发现的问题（自查、抽查、督办、信访等）", cmd_add)
    p.add_argument("--source", choices=SOURCES, help="来源")
    p.add_argument("--by", help="登记人")
    p.add_argument("--finding", help="把已有疑点标记为该来源发现（不重复计数）")
    p.add_argument("--township", help="街道(乡镇)")
    p.add_argument("--village", help="村(社区)")
    p.add_argument("--clause", help="条款，如 3.1.3")
    p.add_argument("--desc", help="问题描述")
    p.add_argument("--persons", help="涉及人员身份证号，多个用;分隔")
    p.add_argument("--names", help="涉及人员姓名，多个用;分隔")
    p.add_argument("--amount", help="涉及金额（元）")
    p.add_argument("--subsidy", help="补贴项目")
    p.add_argument("--category", help="资金类别")
    p.add_argument("--file", help="批量登记：填好的模板 .xlsx")
    p.add_argument("--template", help="生成批量登记模板到此 .xlsx")
    p = cmd("submit", "记录街道(乡镇)月度自查上报（含零报送）", cmd_submit)
    p.add_argument("--township", required=True, help="街道(乡镇)")
    p.add_argument("--month", required=True, help="月份 YYYY-MM")
    p.add_argument("--count", type=int, required=True, help="上报问题数（0 为零报送）")
    p.add_argument("--by", required=True, help="登记人")
    p.add_argument("--on", help="报送日期 YYYY-MM-DD")
    p.add_argument("--note", help="说明")
    p = cmd("export", "导出月报、阶段总结或年度总结", cmd_export)
    p.add_argument("--month", help="月份 YYYY-MM（月报）")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--stage", action="store_true", help="阶段总结（7月15日前报送）")
    g.add_argument("--annual", action="store_true", help="年度总结（12月15日前报送）")
    p.add_argument("--cutoff", help="截止日期 YYYY-MM-DD")
    p.add_argument("--out", required=True, help="输出目录")
    p = cmd("worksheet", "导出街道(乡镇)核实工作表", cmd_worksheet)
    p.add_argument("--township", required=True, help="街道(乡镇)")
    p.add_argument("--out", required=True, help="输出 .xlsx")
    p = cmd("import", "导入填好的核实工作表（整表校验，有误则全部不导入）", cmd_import)
    p.add_argument("file", help="核实工作表 .xlsx")
    p.add_argument("--by", help="填报人（表中未填时使用）")
    p = cmd("publish", "生成脱敏的整改公示", cmd_publish)
    p.add_argument("--month", required=True, help="月份 YYYY-MM")
    p.add_argument("--out", required=True, help="输出目录")
    p = cmd("sample", "抽取可复现的实地抽查名单", cmd_sample)
    p.add_argument("--township", required=True, help="街道(乡镇)")
    p.add_argument("--n", type=int, default=30, help="抽查人数")
    p.add_argument("--run", required=True, help="核查运行目录（读取 intake/payouts.parquet）")
    p.add_argument("--seed", type=int, help="随机种子（不填则随机选取并记录）")
    p.add_argument("--share", type=float, default=0.2, help="从无疑点对象中抽取的比例")
    p.add_argument("--by", help="抽样人")
    p.add_argument("--out", help="名单另存为 .xlsx")
    p = cmd("backup", "备份台账文件", cmd_backup)
    p.add_argument("--out", required=True, help="备份文件路径")

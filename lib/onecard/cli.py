"""``onecard`` command line: synth, intake, run, score, rules, init, explorer.

``--parameters DIR`` (or the environment variable ``ONECARD_PARAMETERS``) names the
office parameters folder (see :mod:`onecard.core.resources`). It is a global option,
accepted before or after the sub-command (``onecard --parameters D run ...`` or
``onecard run ... --parameters D``); the command line wins over the environment.
``main`` sets it before any command runs, so the notebook kernels a run starts
inherit it.

Messages are Chinese. A user mistake (:class:`~onecard.core.errors.WorkbenchError`)
prints its message without a traceback and exits with status 2; a run in
which some township failed exits with status 1 and lists them; a run that
finished but could not read some input files exits with status 3 (see
:data:`RUN_EXIT_CODES`). stdout/stderr are forced to UTF-8 so that an ASCII
locale (``LC_ALL=C``) cannot turn a Chinese message into a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from .core.errors import WorkbenchError

EXIT_USER_ERROR = 2
EXIT_FAILED = 1
EXIT_UNREADABLE = 3
#: Exit statuses of ``onecard run`` (also in README and ``onecard run -h``).
RUN_EXIT_CODES = """退出状态：
  0  全部完成
  1  部分街道(乡镇)或全区汇总未能完成（已保留执行过的笔记本）
  2  参数或数据错误，未运行或运行中止（错误信息说明原因）
  3  完成，但部分输入文件无法读取（见控制台列表和 manifest.json 的 unreadable）"""


def _out(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _err(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def cmd_synth(args) -> int:
    from .synth import generate

    summary = generate(Path(args.out), seed=args.seed, scale=args.scale)
    _out(f"已生成演示数据：{args.out}")
    _out(f"答案（核查运行不会读取）：{Path(str(args.out).rstrip('/')).as_posix()}_truth")
    rows = summary.get("rows") or summary.get("tables") or {}
    for table, n in sorted(rows.items()):
        _out(f"  {table}: {n} 行")
    return 0


def cmd_intake(args) -> int:
    from .intake import cli_intake

    return cli_intake(Path(args.path), Path(args.out))


def _list_inputs(m: dict) -> None:
    """Unreadable and skipped input files, on the console."""
    if m.get("unreadable"):
        _err(f"无法读取的输入文件（{len(m['unreadable'])} 个）：")
        for u in m["unreadable"]:
            _err(f"  {u['file']}：{u['reason']}")
    if m.get("skipped"):
        _out(f"跳过的文件或工作表（{len(m['skipped'])} 个）：")
        for k in m["skipped"]:
            where = f"{k['file']}" + (f" 工作表「{k['sheet']}」" if k.get("sheet") else "")
            _out(f"  {where}：{k['reason']}")


def _dry_run(args) -> int:
    from .analysis.parameters import RunParameters
    from .batch.runner import dry_run

    params = _run_parameters(args, RunParameters)
    report = dry_run(params)
    _out(f"参数检查通过（未写入任何文件）。核查期间 {params.period_text}，版本 {params.audience}，"
         f"运行目录 {params.out}" + (f"，工作目录 {params.work}" if params.separate_work else ""))
    _out(f"将读取的数据表（{len(report['files'])} 个）：")
    for f in report["files"]:
        sheet = f" 工作表「{f['sheet']}」" if f["sheet"] else ""
        _out(f"  {f['file']}{sheet} → {f['table']}（{f['rows']} 行）")
    _list_inputs(report)
    _out(f"将生成报告的街道(乡镇)（{len(report['townships'])} 个）：" + "、".join(report["townships"]))
    if not report["has_payouts"]:
        _err("错误：数据中没有可读取的一卡通发放明细（payouts），正式运行会中止。")
        return EXIT_USER_ERROR
    return EXIT_UNREADABLE if report["unreadable"] else 0


def _run_parameters(args, cls):
    if not args.data or not args.out:
        from .core.errors import ParameterError
        raise ParameterError("onecard run 需要 --data 和 --out（续跑已有的运行目录用 --resume 运行目录）。")
    return cls.load(data=args.data, out=args.out, period=args.period, policy=args.policy,
                    rules=args.rules, townships_file=args.townships_file, townships=args.township,
                    workers=args.workers, audience=args.audience, work=args.work,
                    ledger=args.ledger)


def cmd_run(args) -> int:
    from .analysis.parameters import RunParameters
    from .batch.runner import resume, run_parameters

    if args.dry_run:
        return _dry_run(args)
    if args.resume:
        result = resume(args.resume, progress=not args.quiet, say=_out)
    else:
        result = run_parameters(_run_parameters(args, RunParameters), progress=not args.quiet,
                                say=_out)
    m = result.manifest
    out = result.folder
    _out(f"运行编号：{m['run_id']}")
    _out(f"疑点合计：{m['findings']['total']} 条 → {out / 'findings.xlsx'}")
    _out(f"全区汇总报告：{out / 'district_summary.html'}")
    if m.get("ledger", {}).get("path"):
        _out(f"问题台账：{m['ledger']['path']}" + ("（公开版只读）" if m["ledger"].get("readonly") else ""))
    for t in m.get("townships", []):
        mark = "完成" if t["status"] == "ok" else "失败"
        _out(f"  [{mark}] {t['township']}：{out / t['folder'] / 'review.html'}")
    _list_inputs(m)
    if result.failed:
        _err("以下街道(乡镇)或汇总未能完成（已保留执行过的笔记本，见各目录）：" + "、".join(result.failed))
        for t in m.get("townships", []):
            if t["status"] != "ok":
                _err(f"  {t['township']}：{t['error']}")
        return EXIT_FAILED
    if result.unreadable:
        _err(f"完成，但部分输入文件无法读取（{len(result.unreadable)} 个，见上），用时 "
             f"{m['timings'].get('total', 0):.0f} 秒。")
        return EXIT_UNREADABLE
    _out(f"全部完成，用时 {m['timings'].get('total', 0):.0f} 秒。")
    return 0


def cmd_summary(args) -> int:
    from .report.summary import render_period_summary
    from .views.review import load_run

    run = load_run(args.run, with_network=False)
    paths = render_period_summary(run, args.out or args.run, kind=args.kind, cutoff=args.cutoff,
                                  ledger_path=args.ledger)
    _out(f"已生成：{paths['html']}")
    _out(f"已生成：{paths['pdf']}")
    return 0


def cmd_pack(args) -> int:
    """``onecard pack ID --run RUNDIR --out DIR --audience …``: one finding's or ring's evidence pack,
    with its ledger history (ledger from ``--ledger``, else the run manifest's ``ledger.path``)."""
    from .ledger.runview import item_history
    from .policy import load_policy
    from .report.pack import build_pack
    from .views.review import load_run

    run = load_run(args.run)
    ledger = args.ledger or (run.manifest.get("ledger") or {}).get("path")
    history = item_history(ledger, args.id) if args.audience == "internal" else None
    policy_file = (run.manifest.get("parameters") or {}).get("policy")
    policy = load_policy(policy_file) if policy_file and Path(policy_file).is_file() else None
    number = run.publisher.number(args.id) if args.audience == "public" else None
    paths = build_pack(run, args.id, args.out, args.audience, policy=policy, history=history,
                       public_number=number)
    _out(f"证据材料：{paths['html']}、{paths['pdf']}（引用源数据 {paths['rows']} 行）")
    return 0


def cmd_score(args) -> int:
    import pandas as pd

    from .synth.detection_quality import score_files, summary_line

    table, decoy_hits, _ = score_files(Path(args.findings), Path(args.truth))
    with pd.option_context("display.max_rows", 200, "display.width", 200):
        _out(table.to_string(index=False))
    _out(f"decoy_hits={decoy_hits}（在合法相似情形上报出的疑点数）")
    _out(summary_line(table, decoy_hits))
    return 0


def cmd_rules(args) -> int:
    from .rules.catalogue import catalogue_frame

    cat = catalogue_frame()
    if args.markdown:
        _out("| 规则编号 | 条款 | 规则 | Rule | 所需数据表 | 不应标记 |")
        _out("|---|---|---|---|---|---|")
        for r in cat.itertuples():
            _out(f"| `{r.rule_id}` | {r.clause} | {r.title_zh} | {r.title_en} | "
                 f"{r.tables.replace(';', ', ')} | {r.must_not_flag_zh} |")
        return 0
    for r in cat.itertuples():
        _out(f"{r.rule_id:<26} {r.clause:<6} {r.title_zh}（{r.title_en}）  所需数据：{r.tables}")
    _out(f"共 {len(cat)} 条规则。")
    return 0


def cmd_init(args) -> int:
    from .core.resources import ENV_PARAMETERS, copy_parameters

    written = copy_parameters(Path(args.dir), force=args.force)
    folder = Path(args.dir).expanduser().resolve()
    _out(f"已将默认参数写入 {folder}（{len(written)} 个文件）：")
    for path in written:
        _out(f"  {path.relative_to(folder).as_posix()}")
    _out("按本单位情况修改这些文件后，用以下任一方式使用（目录中有的文件优先，其余仍用程序自带的默认参数）：")
    _out(f"  onecard run --data 数据目录 --out 运行目录 --parameters {folder}")
    _out(f"  或设置环境变量 {ENV_PARAMETERS}={folder}（Windows：set {ENV_PARAMETERS}={folder}）")
    return 0


def cmd_explorer(args) -> int:
    from .batch.notebooks import write_explorer_notebook

    path = write_explorer_notebook(Path(args.run_dir), force=args.force)
    _out(f"已生成疑点浏览器笔记本：{path}")
    _out(f"打开方式：jupyter lab {path}")
    _out("在 JupyterLab 中从上到下逐格运行即可筛选疑点、查看个人明细和共用账户/电话关系。")
    return 0


#: argparse's English phrases -> Chinese, so a mistyped command is answered in Chinese too.
ARGPARSE_ZH = [
    ("the following arguments are required", "缺少必需的参数"),
    ("unrecognized arguments", "无法识别的参数"),
    ("invalid choice", "无效的选项"),
    ("choose from", "可选"),
    ("expected one argument", "需要一个值"),
    ("expected at least one argument", "至少需要一个值"),
    ("invalid int value", "不是有效的整数"),
    ("invalid float value", "不是有效的数字"),
    ("argument ", "参数 "),
]


class ChineseHelpFormatter(argparse.HelpFormatter):
    """Help text with a Chinese usage prefix."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "用法：" if prefix is None else prefix)


class ChineseRawEpilogFormatter(ChineseHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Chinese usage prefix; the epilog (exit statuses) keeps its line breaks."""


class ChineseArgumentParser(argparse.ArgumentParser):
    """ArgumentParser whose usage, help headings and error messages are Chinese
    (exit status 2, no traceback)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", ChineseHelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数"
        self._optionals.title = "选项"
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help="显示本帮助并退出")

    def error(self, message):
        for en, zh in ARGPARSE_ZH:
            message = message.replace(en, zh)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USER_ERROR, f"参数错误：{message}\n用 {self.prog} -h 查看帮助。\n")


PARAMETERS_HELP = ("本单位参数目录（onecard init 生成）：其中有的文件优先于程序自带的默认参数；"
                   "也可设环境变量 ONECARD_PARAMETERS")


def build_parser() -> argparse.ArgumentParser:
    p = ChineseArgumentParser(prog="onecard", description="一卡通专项治理核查工作台")
    p.add_argument("-v", "--verbose", action="store_true", help="输出详细日志")
    p.add_argument("--parameters", metavar="DIR", default=None, help=PARAMETERS_HELP)
    # The same option on every sub-command (before or after it); SUPPRESS keeps the
    # global value when the sub-command does not repeat it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--parameters", metavar="DIR", default=argparse.SUPPRESS,
                        help=PARAMETERS_HELP)
    sub = p.add_subparsers(dest="command", required=True, parser_class=ChineseArgumentParser,
                           title="命令")
    _add = sub.add_parser

    def add_parser(name, **kwargs):
        return _add(name, **{**kwargs, "parents": [common, *kwargs.get("parents", [])]})

    sub.add_parser = add_parser

    s = sub.add_parser("synth", help="生成演示街道数据（含答案）")
    s.add_argument("--out", required=True, help="输出目录")
    s.add_argument("--seed", type=int, default=0, help="随机种子")
    s.add_argument("--scale", type=float, default=1.0, help="规模（1 约等于蔡甸区实际规模）")
    s.set_defaults(func=cmd_synth)

    s = sub.add_parser("intake", help="检查一批数据：识别表、映射表头、隔离问题行")
    s.add_argument("path", help="数据目录或单个文件")
    s.add_argument("--out", required=True, help="输出目录")
    s.set_defaults(func=cmd_intake)

    s = sub.add_parser("run", help="运行全区核查并按街道生成报告", epilog=RUN_EXIT_CODES,
                       formatter_class=ChineseRawEpilogFormatter)
    s.add_argument("--data", help="数据目录（只读）")
    s.add_argument("--out", help="运行目录（每次运行使用新目录，不能在数据目录之内）")
    s.add_argument("--work", help="工作目录（读入的表、分析结果、执行过的笔记本）；"
                                  "公开版默认为 运行目录.internal，内部版默认在运行目录内")
    s.add_argument("--dry-run", action="store_true",
                   help="只检查参数和数据：列出将读取的文件及识别的表、将生成报告的街道，不写任何文件")
    s.add_argument("--resume", metavar="RUNDIR",
                   help="续跑中断的运行：从 manifest.json 读取数据和参数，完成未完成的街道")
    s.add_argument("--township", nargs="+", help="只生成这些街道(乡镇)的报告（名称或代码）")
    s.add_argument("--period", help="核查期间，如 2020-01:2021-12（默认见 parameters/run.yaml）")
    s.add_argument("--policy", help="政策文件（默认 parameters/policy/hubei.yaml）")
    s.add_argument("--rules", help="规则参数文件（默认 parameters/rules.yaml）")
    s.add_argument("--townships-file", help="街道参数文件（默认 parameters/townships/caidian.yaml，含自查上报问题数）")
    s.add_argument("--workers", type=int, help="并行执行的笔记本数（默认见 parameters/run.yaml）")
    s.add_argument("--ledger", help="问题台账文件（默认当前目录下 outputs/ledger.sqlite；"
                                    "公开版只读取状态、不写入）")
    s.add_argument("--audience", choices=["internal", "public"],
                   help="internal 内部核查版；public 公开版（脱敏）（默认见 parameters/run.yaml）")
    s.add_argument("--quiet", action="store_true", help="不显示进度条")
    s.set_defaults(func=cmd_run)

    s = sub.add_parser("pack", help="生成一条疑点或一个关联圈的移交材料（证据包，HTML/PDF）")
    s.add_argument("id", help="疑点编号（finding_id）或关联圈编号（R 开头）")
    s.add_argument("--run", required=True, help="运行目录")
    s.add_argument("--out", required=True, help="输出目录")
    s.add_argument("--audience", required=True, choices=["internal", "public"],
                   help="internal 内部核查版（含身份信息与台账记录）；public 公开版（脱敏）")
    s.add_argument("--ledger", help="问题台账文件（默认取运行目录 manifest.json 中记录的台账）")
    s.set_defaults(func=cmd_pack)

    s = sub.add_parser("score", help="用演示数据的答案评估疑点的查全率和查准率")
    s.add_argument("--findings", required=True, help="findings.csv")
    s.add_argument("--truth", required=True, help="答案目录（DIR_truth）")
    s.set_defaults(func=cmd_score)

    from .ledger.cli import add_ledger_commands
    add_ledger_commands(sub)

    s = sub.add_parser("summary", help="生成阶段总结（7月15日前）或年度总结（12月15日前）HTML/PDF")
    s.add_argument("--run", required=True, help="运行目录")
    kind = s.add_mutually_exclusive_group(required=True)
    kind.add_argument("--stage", dest="kind", action="store_const", const="stage", help="阶段总结")
    kind.add_argument("--annual", dest="kind", action="store_const", const="annual", help="年度总结")
    s.add_argument("--cutoff", help="截止日期 YYYY-MM-DD（有台账时必填）")
    s.add_argument("--ledger", help="问题台账文件（默认取运行目录 manifest.json 中的 ledger.path）")
    s.add_argument("--out", help="输出目录（默认运行目录）")
    s.set_defaults(func=cmd_summary)

    s = sub.add_parser("rules", help="列出规则目录")
    s.add_argument("--markdown", action="store_true", help="以 Markdown 表格输出")
    s.set_defaults(func=cmd_rules)

    s = sub.add_parser("init", help="把默认参数复制到一个目录，供本单位修改（配合 --parameters 使用）")
    s.add_argument("dir", help="参数目录")
    s.add_argument("--force", action="store_true", help="覆盖目录中已有的同名文件")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("explorer", help="在运行目录旁生成疑点浏览器笔记本（用 JupyterLab 打开）")
    s.add_argument("run_dir", metavar="RUNDIR", help="onecard run 的运行目录")
    s.add_argument("--force", action="store_true", help="覆盖已有的 explorer.ipynb")
    s.set_defaults(func=cmd_explorer)
    return p


def force_utf8() -> None:
    """Write stdout/stderr as UTF-8 whatever the locale (``LC_ALL=C``, ``PYTHONUTF8=0``):
    a Chinese message must never become a ``UnicodeEncodeError``."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and (getattr(stream, "encoding", "") or "").lower() not in ("utf-8", "utf8"):
            try:
                reconfigure(encoding="utf-8", errors="backslashreplace")
            except (ValueError, OSError):  # pragma: no cover - a detached stream
                pass


def main(argv: list[str] | None = None) -> int:
    force_utf8()
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        from .core.resources import ENV_PARAMETERS, set_parameters_dir

        # Before any command: every loader, and every notebook kernel a run starts
        # (they inherit the environment), reads the same folder.
        set_parameters_dir(args.parameters or os.environ.get(ENV_PARAMETERS, "").strip() or None)
        return args.func(args)
    except WorkbenchError as exc:
        _err(f"错误：{exc}")
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _err("已中断。")
        return 130
    except BrokenPipeError:
        # output piped into e.g. `head`: stop quietly, no traceback at exit either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

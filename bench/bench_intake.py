"""Intake throughput per format (xlsx, xls, CSV) vs a bare ``pandas.read_*``.

Usage::

    python bench/bench_intake.py [DATA_DIR] [--rows N]

With DATA_DIR (e.g. the folder written by ``onecard synth --out DIR``), every
.xlsx/.xls/.csv payout file in it is timed. Without it, invented payout files of
N rows (default 20000) are generated in a temporary folder. Reports rows/s and
the intake / bare-read time ratio, median of ``--runs`` runs (default 3). Only
files intake recognises as payouts are timed unless ``--all-tables``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from onecard.intake import intake_path
from onecard.intake.sniff import sniff_format

IDS = ["110101195803120138", "110101195803124550", "11010119620907804X", "31010419751120516X",
       "110101196209070136", "110101196209070275"]


def make_files(folder: Path, rows: int) -> None:
    """Write invented payouts as xlsx, xls (<=65000 rows) and GBK CSV."""
    df = pd.DataFrame({
        "序号": range(1, rows + 1),
        "姓名": [f"测试{i % 997}" for i in range(rows)],
        "身份证号": [IDS[i % len(IDS)] for i in range(rows)],
        "银行卡号": ["6228480000000012344"] * rows,
        "开户行": ["中国农业银行蔡甸支行", "农行", "邮储"] * (rows // 3) + ["农行"] * (rows % 3),
        "补贴项目": ["重度残疾人护理补贴"] * rows,
        "所属期": [f"2022年{i % 12 + 1}月" for i in range(rows)],
        "发放金额": [f"{100 + i % 50}.00" for i in range(rows)],
        "街道": ["蔡甸街道"] * rows,
    })
    df.to_csv(folder / "payouts.csv", index=False, encoding="gbk")
    df.to_excel(folder / "payouts.xlsx", index=False, engine="openpyxl")
    import xlwt
    book = xlwt.Workbook()
    sh = book.add_sheet("S1")
    small = df.head(65000)
    for j, c in enumerate(small.columns):
        sh.write(0, j, c)
    for i, row in enumerate(small.itertuples(index=False), start=1):
        for j, v in enumerate(row):
            sh.write(i, j, v)
    book.save(str(folder / "payouts.xls"))


def bare_read(path: Path, fmt: str) -> int:
    if fmt == "text":
        for enc in ("utf-8-sig", "gb18030"):
            try:
                return len(pd.read_csv(path, dtype=str, encoding=enc))
            except UnicodeDecodeError:
                continue
    engine = "calamine" if fmt == "xlsx" else "xlrd"
    return sum(len(d) for d in pd.read_excel(path, sheet_name=None, dtype=str, engine=engine).values())


def median_time(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("data", nargs="?")
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per format (median)")
    ap.add_argument("--all-tables", action="store_true", help="time every table file, not only payouts")
    args = ap.parse_args(argv)
    tmp = None
    if args.data:
        folder = Path(args.data)
    else:
        tmp = tempfile.TemporaryDirectory()
        folder = Path(tmp.name)
        make_files(folder, args.rows)
    by_fmt: dict[str, list[Path]] = {}
    rows_by_fmt: dict[str, int] = {}
    first: dict[str, float] = {}
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in (".xlsx", ".xls", ".csv"):
            continue
        t0 = time.perf_counter()
        entries = intake_path(p).summary["files"]
        elapsed = time.perf_counter() - t0
        if not args.all_tables and not any(e["table"] == "payouts" for e in entries):
            continue
        fmt = sniff_format(p)
        by_fmt.setdefault(fmt, []).append(p)
        rows_by_fmt[fmt] = rows_by_fmt.get(fmt, 0) + sum(e["rows_read"] for e in entries)
        first[fmt] = first.get(fmt, 0.0) + elapsed
    print(f"{'format':8} {'files':>5} {'rows':>9} {'intake s':>9} {'rows/s':>10} {'bare s':>8} {'bare rows/s':>11} "
          f"{'ratio':>6}")
    for fmt, paths in by_fmt.items():
        rows = rows_by_fmt[fmt]
        t_in = (statistics.median([first[fmt]] + [median_time(lambda: [intake_path(p) for p in paths], 1)
                                                  for _ in range(args.runs - 1)]))
        t_bare = median_time(lambda: [bare_read(p, fmt) for p in paths], args.runs)
        print(f"{fmt:8} {len(paths):5d} {rows:9d} {t_in:9.2f} {rows / t_in:10.0f} {t_bare:8.2f} "
              f"{rows / t_bare:11.0f} {t_in / t_bare:6.1f}")
    if tmp:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Folder/file intake: read, lay out, recognise, normalise, conserve every row.

Source: DATA_CONTRACT.md (Intake outputs); issue 3.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import tables as table_schema
from ..core.errors import InputFileError, MissingColumnError, RunError, TableNotRecognisedError, WorkbenchError
from ..core.log import logger
from .headers import load_lexicon, load_sources, map_headers, normalise_header, recognise_table, rule_for
from .layout import find_layout
from .readers import read_file
from .sheet import QUARANTINE_COLUMNS, build_sheet, empty_table, to_canonical_dtypes
from .wide import WideSpec, detect_wide, period_from_title

__all__ = ["IntakeResult", "intake_path", "load_intake", "intake_file", "unmapped_hint"]

_IGNORED_NAMES = {"sources.yaml", "headers.yaml", "intake.json", "quarantine.csv"}


@dataclass
class IntakeResult:
    """Canonical tables, quarantined rows and the intake summary.

    Attributes
    ----------
    tables : dict of str -> pd.DataFrame
        Only tables that were supplied (present even with 0 accepted rows);
        columns of ``onecard.core.tables.TABLES[table]`` plus ``township_code``/``village_code``/
        ``address_raw`` where relevant and ``_file``, ``_sheet``, ``_row``, ``_flags``.
    quarantine : pd.DataFrame
        ``file, sheet, row, table, reason, detail, raw``.
    summary : dict
        The ``intake.json`` content (``files``, ``skipped``, ``unreadable``, ``tables``).
    """

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    summary: dict = field(default_factory=dict)

    def write(self, out_dir: str | Path) -> None:
        """Write ``<table>.parquet``, ``quarantine.csv`` (UTF-8 with BOM) and ``intake.json``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            df.to_parquet(out / f"{name}.parquet", index=False)
        self.quarantine.to_csv(out / "quarantine.csv", index=False, encoding="utf-8-sig")
        (out / "intake.json").write_text(json.dumps(self.summary, ensure_ascii=False, indent=1, default=str),
                                         encoding="utf-8")
        write_detected_sources(self.summary, out / "sources_detected.yaml")


def detected_sources(summary: dict) -> dict:
    """The table and header mapping intake chose for each file, in ``sources.yaml`` form.

    ``{file: {"table": T, "columns": {header: canonical}}}``; only canonical columns of
    the table (a wide roster's subsidy groups are recognised again without help). Saved
    so an investigator can confirm the mapping and reuse it for the next delivery (B09).
    """
    out: dict[str, dict] = {}
    for e in summary.get("files", []):
        entry = out.setdefault(e["file"], {"table": e["table"], "columns": {}})
        valid = table_schema.TABLES.get(e["table"], {})
        for header, canonical in (e.get("header_map") or {}).items():
            if canonical in valid and "wide" not in e:
                entry["columns"].setdefault(header, canonical)
    return out


def write_detected_sources(summary: dict, path: Path) -> None:
    """Write :func:`detected_sources` as YAML with a Chinese how-to header."""
    import yaml

    text = yaml.safe_dump(detected_sources(summary), allow_unicode=True, sort_keys=False)
    head = ("# 本次读入时识别的表和表头对应关系（自动生成）。请核对；确认无误后，可将需要的条目复制到\n"
            "# 下一批数据文件夹的 sources.yaml 中，下次读入将直接按此对应，不再依赖自动识别。\n")
    Path(path).write_text(head + text, encoding="utf-8")


def load_intake(out_dir: str | Path) -> IntakeResult:
    """Read back what :meth:`IntakeResult.write` wrote (for notebooks).

    Raises
    ------
    InputFileError
        If ``intake.json`` is missing from ``out_dir``.
    """
    out = Path(out_dir)
    if not (out / "intake.json").exists():
        raise InputFileError(f"目录 {out} 中没有 intake.json；请先运行 onecard intake。")
    summary = json.loads((out / "intake.json").read_text(encoding="utf-8"))
    tables = {}
    for name in summary.get("tables", {}):
        df = pd.read_parquet(out / f"{name}.parquet")
        tables[name] = to_canonical_dtypes(df, name)
    q = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if len(q):
        q["row"] = q["row"].astype("Int64")
    return IntakeResult(tables, q if len(q.columns) else pd.DataFrame(columns=QUARANTINE_COLUMNS), summary)


#: Columns a wide 花名册 never takes from outside its subsidy groups (a lone
#: 实发金额/合计 column there is a row total, not a payment).
_WIDE_EXCLUDED = {"subsidy", "amount", "net_amount", "fee"}


def wide_layout(label: str, rel: str, sheet_name: str, layout, names: list[str], lexicon,
                extra: dict | None) -> tuple[WideSpec, dict[int, str]] | None:
    """Recognise a wide 花名册 (one column group per subsidy) as ``payouts``.

    Returns
    -------
    (WideSpec, colmap) or None
        ``None`` when the sheet has no subsidy group with an amount, no ID
        column, or ordinary ``补贴项目``/``金额`` columns (then it is a long table).

    Raises
    ------
    MissingColumnError
        A wide roster with neither a period/paid-month column nor a month in its
        title rows, sheet name or file name.
    """
    spec = detect_wide(names, layout.headers)
    if spec is None:
        return None
    base = ["" if i in spec.positions else n for i, n in enumerate(names)]
    base_map = map_headers(base, "payouts", lexicon, extra)
    if {"subsidy", "amount"} & set(base_map.values()):
        return None
    colmap = {p: c for p, c in base_map.items() if c not in _WIDE_EXCLUDED}
    if "person_id" not in colmap.values():
        return None
    spec.period, spec.period_text, spec.scale = period_from_title(layout.above, sheet_name, Path(rel).stem)
    if spec.period is None and not {"period", "paid_month"} & set(colmap.values()):
        shown = "、".join(h for h in layout.headers if h)
        raise MissingColumnError(
            f"文件 {label} 是按补贴分列的发放花名册（{'、'.join(g.subsidy for g in spec.groups)}），"
            f"但既没有所属期/发放年月列，标题行、工作表名和文件名中也找不到年月（如“2022年5月”）。"
            f"找到的表头：{shown}。请在表中加一列所属期，或在标题中写明年月。")
    return spec, colmap


_MASK = r"[*＊●×]{2,}|^[^*＊]{1,2}[*＊]"
#: Share of masked ID (or name) cells above which a payouts-shaped sheet is a published list.
_MASKED_SHARE = 0.5


def published_list(layout, colmap: dict[int, str], names: list[str], lexicon, extra: dict | None) -> bool:
    """Whether a sheet recognised as ``payouts`` is really a 公示名单 (``disclosures``).

    Payout and disclosure headers overlap (a published list's columns are a
    subset of a payout export's); what tells them apart is the content: the
    published list masks IDs (``4201**********7097``) and names (``宋*秀``).
    Looks at up to 500 data rows of the ID column (else the name column).
    """
    if not all(any(c in set(map_headers(names, "disclosures", lexicon, extra).values()) for c in g)
               for g in table_schema.REQUIRED["disclosures"]):
        return False
    pos = next((p for p, c in colmap.items() if c == "person_id"), None)
    if pos is None:
        pos = next((p for p, c in colmap.items() if c == "name"), None)
    if pos is None:
        return False
    cells = layout.body.iloc[:500, pos]
    cells = cells[cells.notna()].astype(str).str.strip()
    cells = cells[cells != ""]
    return bool(len(cells)) and float(cells.str.contains(_MASK).mean()) >= _MASKED_SHARE


def intake_file(path: Path, rel: str, lexicon, rules) -> tuple[list, list[dict], list[dict], str, str | None]:
    """Read one file. Returns (sheet results, skipped entries, problems, format, encoding).

    Raises
    ------
    InputFileError
        The file cannot be read at all.
    """
    fmt, enc, sheets = read_file(path)
    logger.info("intake %s: format=%s encoding=%s sheets=%d", rel, fmt, enc, len(sheets))
    if not sheets:
        return [], [{"file": rel, "reason": f"不是表格文件（识别为 {fmt}）"}], [], fmt, enc
    rule = rule_for(rel, rules)
    spellings = lexicon.all_spellings() | set((rule.columns if rule else {}).keys())
    results, skipped, problems = [], [], []
    visible = [s for s in sheets if not s.hidden]
    for s in sheets:
        if s.hidden:
            skipped.append({"file": rel, "sheet": s.name, "reason": "隐藏的工作表，未读取"})
    for s in visible:
        layout = find_layout(s, spellings)
        if layout is None:
            skipped.append({"file": rel, "sheet": s.name, "reason": "未找到表头（不是数据表）"})
            continue
        norm = [normalise_header(h) for h in layout.headers]
        names = [n for n, _ in norm]
        units = [u for _, u in norm]
        label = f"{rel}" + (f" 工作表「{s.name}」" if s.name and len(visible) > 1 else "")
        extra = rule.columns if rule else None
        try:
            wide = (wide_layout(label, rel, s.name, layout, names, lexicon, extra)
                    if rule is None or rule.table in (None, "payouts") else None)
            if wide is not None:
                table, (spec, colmap) = "payouts", wide
            else:
                spec = None
                table = recognise_table(label, names, lexicon, rule.table if rule else None, extra)
                colmap = map_headers(names, table, lexicon, extra)
                if table == "payouts" and not (rule and rule.table) and \
                        published_list(layout, colmap, names, lexicon, extra):
                    table = "disclosures"
                    colmap = map_headers(names, table, lexicon, extra)
        except WorkbenchError as exc:
            problems.append({"file": rel, "sheet": s.name, "error": exc})
            continue
        res = build_sheet(layout, names, units, colmap, table, rel, s.name, s.typed, wide=spec)
        res.entry["format"], res.entry["encoding"] = fmt, enc
        results.append(res)
    if not results and not problems:
        skipped.append({"file": rel, "reason": "没有可识别表头的工作表（不是数据表）"})
    return results, skipped, problems, fmt, enc


def _mark_duplicates(frame: pd.DataFrame, entries: dict, qrows: list[dict]) -> pd.DataFrame:
    """Quarantine payout rows identical in every canonical column, with the same serial number."""
    if "payout_id" not in frame or frame["payout_id"].isna().all():
        return frame
    cols = [c for c in frame.columns if not c.startswith("_")]
    has_id = frame["payout_id"].notna()
    dup = has_id & frame.duplicated(subset=cols, keep="first")
    if not dup.any():
        return frame
    for _, r in frame.loc[dup].iterrows():
        key = (r["_file"], r["_sheet"])
        entries[key]["rows_accepted"] -= 1
        entries[key]["rows_quarantined"] += 1
        byr = entries[key]["quarantined_by_reason"]
        byr["duplicate_row"] = byr.get("duplicate_row", 0) + 1
        raw = {c: (str(r[c]) if pd.notna(r[c]) else None) for c in cols}
        qrows.append({"file": r["_file"], "sheet": r["_sheet"], "row": int(r["_row"]), "table": "payouts",
                      "reason": "duplicate_row", "detail": f"与同一流水号 {r['payout_id']} 的行完全相同",
                      "raw": json.dumps(raw, ensure_ascii=False)})
    return frame.loc[~dup].reset_index(drop=True)


def intake_path(path: str | Path, headers_file: str | Path | None = None,
                require_payouts: bool = True) -> IntakeResult:
    """Read a data folder (or one file) into canonical tables.

    Parameters
    ----------
    path : str or Path
        A folder (read recursively; ``sources.yaml`` honoured) or one file.
    headers_file : str or Path, optional
        Extra office-wide header spellings, same shape as ``parameters/headers.yaml``.

    Returns
    -------
    IntakeResult

    Raises
    ------
    InputFileError, MissingColumnError, TableNotRecognisedError
        Single-file mode: the file cannot be read or recognised (all problems
        of the file in one message).
    RunError
        Folder mode with ``require_payouts``: no readable payouts.

    Examples
    --------
    >>> result = intake_path("data/")            # doctest: +SKIP
    >>> result.tables["payouts"]["amount"].sum()  # fen  # doctest: +SKIP
    """
    root = Path(path)
    lexicon = load_lexicon(str(headers_file) if headers_file else None)
    single = root.is_file()
    if not root.exists():
        raise InputFileError(f"路径不存在：{root}")
    folder = root.parent if single else root
    rules = load_sources(folder)
    files = [root] if single else sorted(p for p in root.rglob("*") if p.is_file())
    frames: dict[str, list[pd.DataFrame]] = {}
    qrows: list[dict] = []
    summary: dict = {"files": [], "skipped": [], "unreadable": [], "tables": {}}
    for f in files:
        rel = f.relative_to(folder).as_posix()
        if not single and (f.name in _IGNORED_NAMES or f.name.startswith((".", "~$"))
                           or f.suffix.lower() in (".parquet", ".json", ".yaml", ".yml", ".py")):
            summary["skipped"].append({"file": rel, "reason": "配置或非数据文件"})
            continue
        try:
            results, skipped, problems, fmt, enc = intake_file(f, rel, lexicon, rules)
        except InputFileError as exc:
            if single:
                raise
            summary["unreadable"].append({"file": rel, "reason": str(exc)})
            continue
        if problems:
            message = "\n".join(str(p["error"]) for p in problems)
            if single:
                raise type(problems[0]["error"])(message)
            summary["unreadable"].append({"file": rel, "reason": message})
        if single and not results and not problems:
            raise TableNotRecognisedError(f"文件 {rel} 不是可识别的数据表：" + "；".join(
                f"{k.get('sheet', '')} {k['reason']}".strip() for k in skipped) + "。请检查表头行是否含有身份证号、姓名、金额等列。")
        summary["skipped"].extend(skipped)
        for res in results:
            frames.setdefault(res.table, []).append(res.frame)
            qrows.extend(res.quarantine)
            summary["files"].append(res.entry)
    tables: dict[str, pd.DataFrame] = {}
    for name, parts in frames.items():
        parts = [p for p in parts if len(p)] or [empty_table(name)]
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        tables[name] = to_canonical_dtypes(df, name) if len(parts) > 1 else df
    if "payouts" in tables:
        entries = {(e["file"], e["sheet"]): e for e in summary["files"]}
        tables["payouts"] = _mark_duplicates(tables["payouts"], entries, qrows)
    summary["tables"] = {k: int(len(v)) for k, v in tables.items()}
    seen, unique = set(), []
    for k in summary["skipped"]:  # a file can be reported once per reader attempt
        key = (k.get("file"), k.get("sheet") or "")
        if key not in seen:
            seen.add(key)
            unique.append(k)
    summary["skipped"] = unique
    if require_payouts and not single and "payouts" not in tables:
        why = "；".join(f"{u['file']}：{u['reason']}" for u in summary["unreadable"][:5])
        raise RunError(f"数据目录 {root} 中没有可读取的一卡通发放明细（payouts）。"
                       f"至少需要一个包含身份证号、金额、补贴项目、所属期或发放年月列的文件。" + (f"无法读取的文件：{why}" if why else ""))
    quarantine = pd.DataFrame(qrows, columns=QUARANTINE_COLUMNS)
    quarantine["row"] = quarantine["row"].astype("Int64")
    return IntakeResult(tables, quarantine, summary)


def summary_text(result: IntakeResult) -> str:
    """A short Chinese summary of an intake (for the CLI)."""
    s = result.summary
    lines = [f"文件/工作表：{len(s['files'])}，跳过：{len(s['skipped'])}，无法读取：{len(s['unreadable'])}"]
    for e in s["files"]:
        lines.append(f"  {e['file']} {e['sheet']} → {e['table']}：读入 {e['rows_read']}，接受 {e['rows_accepted']}，"
                     f"隔离 {e['rows_quarantined']} {e['quarantined_by_reason'] or ''}")
    lines.append("表：" + "，".join(f"{k} {v} 行" for k, v in s["tables"].items()))
    by = Counter(result.quarantine["reason"]) if len(result.quarantine) else {}
    if by:
        lines.append("隔离原因：" + "，".join(f"{k} {v}" for k, v in by.items()))
    for k in s["skipped"]:
        sheet = f" 工作表「{k['sheet']}」" if k.get("sheet") else ""
        lines.append(f"跳过 {k['file']}{sheet}：{k.get('reason', '')}")
    for u in s["unreadable"]:
        lines.append(f"无法读取 {u['file']}：{u['reason']}")
    if "payouts" not in s["tables"]:
        lines.append("注意：没有找到一卡通发放明细（payouts）。正式核查（onecard run）至少需要一个包含"
                     "身份证号、金额、补贴项目、所属期或发放年月列的发放明细文件。")
    lines.extend(unmapped_hint(s))
    return "\n".join(lines)


def unmapped_hint(summary: dict) -> list[str]:
    """Chinese lines listing headers that were not imported, and how to add a spelling.

    Parameters
    ----------
    summary : dict
        The intake summary (``intake.json``); reads ``files[].unmapped_headers``.

    Returns
    -------
    list of str
        Empty when every header was mapped.
    """
    todo = [e for e in summary.get("files", []) if e.get("unmapped_headers")]
    if not todo:
        return []
    lines = ["未识别的表头（这些列没有导入，请确认是否需要）："]
    for e in todo:
        where = e["file"] + (f" 工作表「{e['sheet']}」" if e.get("sheet") else "")
        lines.append(f"  {where}（{table_schema.TABLE_LABELS[e['table']]} {e['table']}）：" + "、".join(e["unmapped_headers"]))
    first = todo[0]
    cols = "、".join(table_schema.columns(first["table"]))
    lines += [
        "如需导入某一列，请在数据文件夹中的 sources.yaml 里为该文件写明表头对应的标准列名，例如：",
        f'  "{first["file"]}":',
        f"    table: {first['table']}",
        "    columns:",
        f"      {first['unmapped_headers'][0]}: <标准列名>",
        f"  {first['table']} 表可用的标准列名：{cols}。",
        "  整个单位通用的写法请补充到 parameters/headers.yaml。",
    ]
    return lines


def cli_intake(path: str | Path, out: str | Path) -> int:
    """CLI hook for ``onecard intake DIR_OR_FILE --out DIR``: print a Chinese summary, return exit code.

    Returns 0 on success, 2 on a user error (message printed, no traceback).
    """
    import sys

    try:
        result = intake_path(path, require_payouts=False)
        result.write(out)
    except WorkbenchError as exc:
        sys.stderr.write(f"错误：{exc}\n")
        return 2
    sys.stdout.write(summary_text(result) + "\n")
    sys.stdout.write(f"已写入 {out}\n")
    return 0

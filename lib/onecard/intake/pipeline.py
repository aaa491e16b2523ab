"""Folder/file intake: read, lay out, recognise, normalise, conserve every row.

Source: DATA_CONTRACT.md (Intake outputs); issue 3.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..core import tables as table_schema
from ..core.errors import InputFileError, MissingColumnError, RunError, TableNotRecognisedError, WorkbenchError
from ..core.log import logger
from .headers import load_lexicon, load_sources, map_headers, normalise_header, recognise_table, rule_for
from .cleaning import clean_sheet
from .conflicts import CONFLICT_COLUMNS, find_conflicts
from .layout import find_layout
from .limits import IntakeLimits, LimitExceededError, cap_list, cap_text, check_sheet_shape, load_limits
from .readers import read_file
from .sniff import text_name
from .sheet import QUARANTINE_COLUMNS, build_sheet, empty_table, to_canonical_dtypes
from .wide import WideSpec, detect_wide, period_from_title

__all__ = ["IntakeResult", "intake_path", "load_intake", "intake_file", "unmapped_hint", "list_data_files",
           "data_quality_lines",
           "VILLAGE_RENAME_COLUMNS"]

#: Columns of ``village_renames.csv``: a village name intake folded to another official spelling.
VILLAGE_RENAME_COLUMNS = ["raw", "township", "township_code", "official", "code", "rows"]
#: Conflicting keys listed in ``intake.json`` (all of them are in ``conflicts.csv``).
_JSON_CONFLICTS = 200
#: Longest header text listed in ``intake.json`` (``unmapped_headers``, ``header_map`` keys).
_HEADER_CHARS = 100

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
        The ``intake.json`` content (``files``, ``skipped``, ``unreadable``, ``tables``,
        ``hidden_sheets``, ``conflicts``, ``village_renames``).
    conflicts : pd.DataFrame
        ``conflicts.csv``: one line per row of a conflicting key (``CONFLICT_COLUMNS``:
        ``table, key, n_rows, columns, file, sheet, row``); see :mod:`.conflicts`.
    village_renames : pd.DataFrame
        ``village_renames.csv``: ``raw, township, township_code, official, code, rows``,
        every village name folded to a different official spelling (for the report).
    """

    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    summary: dict = field(default_factory=dict)
    conflicts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CONFLICT_COLUMNS))
    village_renames: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VILLAGE_RENAME_COLUMNS))

    def write(self, out_dir: str | Path) -> None:
        """Write ``<table>.parquet``, ``quarantine.csv``, ``conflicts.csv``, ``village_renames.csv``
        (CSV as UTF-8 with BOM), ``intake.json`` and ``sources_detected.yaml``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in self.tables.items():
            with open(out / f"{name}.parquet", "wb") as fh:  # a handle: pyarrow cannot encode an ASCII-locale path
                df.to_parquet(fh, index=False)
        self.quarantine.to_csv(out / "quarantine.csv", index=False, encoding="utf-8-sig")
        self.conflicts.to_csv(out / "conflicts.csv", index=False, encoding="utf-8-sig")
        self.village_renames.to_csv(out / "village_renames.csv", index=False, encoding="utf-8-sig")
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
        raise InputFileError(f"目录 {text_name(out)} 中没有 intake.json；请先运行 onecard intake。")
    summary = json.loads((out / "intake.json").read_text(encoding="utf-8"))
    tables = {}
    for name in summary.get("tables", {}):
        with open(out / f"{name}.parquet", "rb") as fh:
            df = pd.read_parquet(fh)
        tables[name] = to_canonical_dtypes(df, name)
    q = pd.read_csv(out / "quarantine.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if len(q):
        q["row"] = q["row"].astype("Int64")
    extra = {}
    for name, attr, cols in (("conflicts.csv", "conflicts", CONFLICT_COLUMNS),
                             ("village_renames.csv", "village_renames", VILLAGE_RENAME_COLUMNS)):
        path = out / name
        df = (pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig") if path.exists()
              and path.stat().st_size else pd.DataFrame(columns=cols))
        extra[attr] = df if len(df.columns) else pd.DataFrame(columns=cols)
    return IntakeResult(tables, q if len(q.columns) else pd.DataFrame(columns=QUARANTINE_COLUMNS), summary,
                        **extra)


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


def _hidden_sheet_entry(rel: str, s, layout, names: list[str], lexicon, extra: dict | None) -> dict:
    """The skipped entry of a hidden sheet that is not read; ``kind`` tells a data-looking one.

    A hidden sheet with a recognisable header band is described (table if it can be
    told, data rows counted) so the console, ``intake.json`` ``hidden_sheets`` and the
    report can warn about it; a hidden code table keeps the plain skipped line.
    """
    if layout is None:
        return {"file": rel, "sheet": s.name, "reason": "隐藏的工作表（无可识别表头，如代码表），未读取"}
    try:
        table = recognise_table(rel, names, lexicon, None, extra)
    except WorkbenchError:
        table = None
    rows = int(len(layout.body) - sum(1 for r in layout.dropped if r in layout.body.index))
    what = f"{table_schema.TABLE_LABELS[table]}（{table}）" if table else "数据表"
    return {"file": rel, "sheet": s.name, "kind": "hidden_data_sheet", "table": table, "rows": rows,
            "reason": f"隐藏的工作表，内容像{what}，约 {rows} 行数据，未读取。请核实是否为有效数据；"
                      f"如需读取，请在 sources.yaml 中为该文件写 read_hidden: true"}


def intake_file(path: Path, rel: str, lexicon, rules,
                limits: IntakeLimits | None = None) -> tuple[list, list[dict], list[dict], str, str | None]:
    """Read one file. Returns (sheet results, skipped entries, problems, format, encoding).

    Hidden sheets are not read unless the file's ``sources.yaml`` entry says
    ``read_hidden: true`` (then their rows carry the flag ``hidden_sheet``). Reasoning:
    a hidden sheet that looks like data is most often an older or working copy of the
    visible one (``旧数据``); reading it by default would double payments and accuse
    people of duplicate payouts, while skipping it loudly — its own skipped entry with
    table and row count, ``intake.json`` ``hidden_sheets``, a console warning — loses
    nothing the investigator cannot see and switch on (recall is kept by the warning;
    precision by not guessing). A hidden sheet without a header band (a code table)
    keeps a plain skipped line.

    Raises
    ------
    InputFileError
        The file cannot be read at all (incl. :class:`.limits.LimitExceededError`).
    """
    limits = limits or load_limits()
    fmt, enc, sheets = read_file(path, limits)
    logger.info("intake %s: format=%s encoding=%s sheets=%d", rel, fmt, enc, len(sheets))
    if not sheets:
        return [], [{"file": rel, "reason": f"不是表格文件（识别为 {fmt}）"}], [], fmt, enc
    rule = rule_for(rel, rules)
    spellings = lexicon.all_spellings() | set((rule.columns if rule else {}).keys())
    extra = rule.columns if rule else None
    read_hidden = bool(rule and rule.read_hidden)
    results, skipped, problems = [], [], []
    visible = [s for s in sheets if not s.hidden or read_hidden]
    for s in sheets:
        label = f"{rel}" + (f" 工作表「{s.name}」" if s.name and len(visible) > 1 else "")
        try:
            check_sheet_shape(len(s.grid), s.grid.shape[1], label, limits)
        except LimitExceededError as exc:
            problems.append({"file": rel, "sheet": s.name, "error": exc})
            continue
        cleaning = clean_sheet(s, limits)
        layout = find_layout(s, spellings)
        norm = [normalise_header(h) for h in layout.headers] if layout is not None else []
        names = [n for n, _ in norm]
        units = [u for _, u in norm]
        if s.hidden and not read_hidden:
            skipped.append(_hidden_sheet_entry(rel, s, layout, names, lexicon, extra))
            continue
        if layout is None:
            skipped.append({"file": rel, "sheet": s.name, "reason": "未找到表头（不是数据表）"})
            continue
        try:
            table, spec, colmap = _recognise(label, rel, s.name, layout, names, lexicon, rule, extra)
        except WorkbenchError as exc:
            problems.append({"file": rel, "sheet": s.name, "error": exc})
            continue
        res = build_sheet(layout, names, units, colmap, table, rel, s.name, s.typed, wide=spec)
        res.entry["format"], res.entry["encoding"] = fmt, enc
        res.entry.update(cleaning)
        if s.hidden:
            res.entry["hidden"] = True
            res.frame["_flags"] = _add_flag(res.frame["_flags"], "hidden_sheet")
            res.entry["flags"]["hidden_sheet"] = int(len(res.frame))
        _cap_entry(res.entry, limits)
        results.append(res)
    if not results and not problems and not any(k.get("kind") == "hidden_data_sheet" for k in skipped):
        skipped.append({"file": rel, "reason": "没有可识别表头的工作表（不是数据表）"})
    return results, skipped, problems, fmt, enc


def _recognise(label: str, rel: str, sheet_name: str, layout, names: list[str], lexicon, rule, extra):
    """(table, wide spec or None, colmap) of a laid-out sheet: a wide 花名册, else the best table
    (a payouts-shaped sheet with masked IDs is a published list)."""
    wide = (wide_layout(label, rel, sheet_name, layout, names, lexicon, extra)
            if rule is None or rule.table in (None, "payouts") else None)
    if wide is not None:
        return "payouts", wide[0], wide[1]
    table = recognise_table(label, names, lexicon, rule.table if rule else None, extra)
    colmap = map_headers(names, table, lexicon, extra)
    if table == "payouts" and not (rule and rule.table) and published_list(layout, colmap, names, lexicon, extra):
        table = "disclosures"
        colmap = map_headers(names, table, lexicon, extra)
    return table, None, colmap


def _add_flag(flags: pd.Series, flag: str) -> pd.Series:
    """Append ``flag`` to every row's ``;``-joined flags."""
    f = flags.fillna("").astype(str)
    return pd.Series((f + ";" + flag).str.lstrip(";"), index=flags.index, dtype="string")


def _cap_entry(entry: dict, limits: IntakeLimits) -> None:
    """Keep one sheet's ``intake.json`` entry small whatever the file holds."""
    short = IntakeLimits(max_detail_chars=_HEADER_CHARS, max_list_items=limits.max_list_items)
    if len(entry.get("unmapped_headers", [])) > limits.max_list_items or \
            any(len(h) > _HEADER_CHARS for h in entry.get("unmapped_headers", [])):
        entry["unmapped_headers"] = cap_list(entry["unmapped_headers"], short)
    if any(len(h) > _HEADER_CHARS for h in entry.get("header_map", {})):
        entry["header_map"] = {cap_text(h, short): c for h, c in entry["header_map"].items()}
    if "period_from_title" in entry:
        entry["period_from_title"] = cap_text(entry["period_from_title"], limits)


def list_data_files(root: Path) -> tuple[list[Path], list[dict]]:
    """The regular files under ``root`` to read, and the entries intake does not follow.

    Symbolic links are never followed out of the data folder: a file link whose target
    lies outside ``root`` is skipped (指向数据目录之外的链接, e.g. a link to
    ``/etc/passwd``), as are links to folders (not entered: no loops, no file read
    twice), dangling links, links to a file inside the folder (that file is read
    directly, once) and special files (pipes, devices: reading one could hang).
    Nothing is dropped silently.

    Returns
    -------
    (files, skipped)
        ``files`` sorted by path; ``skipped`` entries ``{"file", "reason"}`` with the
        path relative to ``root``.
    """
    real_root = root.resolve()
    files: list[Path] = []
    skipped: list[dict] = []

    def rel(p: Path) -> str:
        return text_name(p.relative_to(root).as_posix())

    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        d = Path(dirpath)
        for name in list(dirnames):
            if (d / name).is_symlink():
                skipped.append({"file": rel(d / name), "reason": "指向文件夹的链接，未进入读取（避免重复或循环读取）"})
        dirnames[:] = sorted(n for n in dirnames if not (d / n).is_symlink())
        for name in filenames:
            p = d / name
            if p.is_symlink():
                try:
                    target = p.resolve(strict=True)
                except (OSError, RuntimeError):
                    skipped.append({"file": rel(p), "reason": "失效的链接（指向的文件不存在），未读取"})
                    continue
                if not target.is_relative_to(real_root):
                    skipped.append({"file": rel(p), "reason": "指向数据目录之外的链接，未读取"})
                    continue
                if target.is_file():  # its target is inside the folder and read there once
                    skipped.append({"file": rel(p), "reason": "指向数据目录内另一文件的链接（该文件已直接读取），未重复读取"})
                    continue
            if p.is_file():
                files.append(p)
            else:
                skipped.append({"file": rel(p), "reason": "不是普通文件（如管道、设备文件），未读取"})
    return sorted(files), skipped


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
                require_payouts: bool = True, limits: IntakeLimits | None = None) -> IntakeResult:
    """Read a data folder (or one file) into canonical tables.

    Parameters
    ----------
    path : str or Path
        A folder (read recursively; ``sources.yaml`` honoured) or one file.
    headers_file : str or Path, optional
        Extra office-wide header spellings, same shape as ``parameters/headers.yaml``.
    require_payouts : bool
        Folder mode: raise when no payouts were read.
    limits : IntakeLimits, optional
        Resource limits (default: ``parameters/intake.yaml``, :func:`.limits.load_limits`).

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
    ParameterError
        A malformed ``sources.yaml`` or ``intake.yaml`` (every problem in one message).

    Examples
    --------
    >>> result = intake_path("data/")            # doctest: +SKIP
    >>> result.tables["payouts"]["amount"].sum()  # fen  # doctest: +SKIP
    """
    root = Path(path)
    lexicon = load_lexicon(str(headers_file) if headers_file else None)
    limits = limits or load_limits()
    single = root.is_file()
    if not root.exists():
        raise InputFileError(f"路径不存在：{text_name(root)}")
    folder = root.parent if single else root
    rules = load_sources(folder)
    files, link_skips = ([root], []) if single else list_data_files(root)
    frames: dict[str, list[pd.DataFrame]] = {}
    qrows: list[dict] = []
    renames: list[dict] = []
    summary: dict = {"files": [], "skipped": list(link_skips), "unreadable": [], "tables": {}}
    for f in files:
        rel = text_name(f.relative_to(folder).as_posix())
        if not single and (f.name in _IGNORED_NAMES or f.name.startswith((".", "~$"))
                           or f.suffix.lower() in (".parquet", ".json", ".yaml", ".yml", ".py")):
            summary["skipped"].append({"file": rel, "reason": "配置或非数据文件"})
            continue
        try:
            results, skipped, problems, fmt, enc = intake_file(f, rel, lexicon, rules, limits)
        except InputFileError as exc:
            if single:
                raise
            summary["unreadable"].append(_unreadable(rel, str(exc), exc, limits))
            continue
        if problems:
            message = "\n".join(str(p["error"]) for p in problems)
            if single:
                raise type(problems[0]["error"])(message)
            summary["unreadable"].append(_unreadable(rel, message, problems[0]["error"], limits))
        if single and not results and not problems:
            raise TableNotRecognisedError(f"文件 {rel} 不是可识别的数据表：" + "；".join(
                f"{k.get('sheet', '')} {k['reason']}".strip() for k in skipped) + "。请检查表头行是否含有身份证号、姓名、金额等列。")
        summary["skipped"].extend(skipped)
        for res in results:
            frames.setdefault(res.table, []).append(res.frame)
            qrows.extend(res.quarantine)
            summary["files"].append(res.entry)
            renames.extend(res.village_renames)
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
    summary["hidden_sheets"] = [{k: e.get(k) for k in ("file", "sheet", "table", "rows")} | {"read": False}
                                for e in unique if e.get("kind") == "hidden_data_sheet"]
    summary["hidden_sheets"] += [{"file": e["file"], "sheet": e["sheet"], "table": e["table"],
                                  "rows": e["rows_read"], "read": True} for e in summary["files"] if e.get("hidden")]
    rename_table = _village_rename_table(renames)
    summary["village_renames"] = rename_table.to_dict("records")
    conflicts = [c for name, df in tables.items() for c in find_conflicts(name, df)]
    summary["conflicts"] = _conflict_summary(conflicts)
    if require_payouts and not single and "payouts" not in tables:
        why = "；".join(f"{u['file']}：{u['reason']}" for u in summary["unreadable"][:5])
        raise RunError(f"数据目录 {text_name(root)} 中没有可读取的一卡通发放明细（payouts）。"
                       f"至少需要一个包含身份证号、金额、补贴项目、所属期或发放年月列的文件。" + (f"无法读取的文件：{why}" if why else ""))
    quarantine = pd.DataFrame(qrows, columns=QUARANTINE_COLUMNS)
    quarantine["row"] = quarantine["row"].astype("Int64")
    return IntakeResult(tables, quarantine, summary, _conflict_table(conflicts), rename_table)


def _unreadable(rel: str, reason: str, exc: Exception, limits: IntakeLimits) -> dict:
    """An ``unreadable`` entry; ``limit: true`` when a resource limit refused the file."""
    entry = {"file": rel, "reason": cap_text(reason, IntakeLimits(max_detail_chars=max(limits.max_detail_chars, 2000)))}
    if isinstance(exc, LimitExceededError):
        entry["limit"] = True
    return entry


def _village_rename_table(renames: list[dict]) -> pd.DataFrame:
    """Renames of all sheets summed per (raw, township, official): ``VILLAGE_RENAME_COLUMNS``."""
    if not renames:
        return pd.DataFrame(columns=VILLAGE_RENAME_COLUMNS)
    from ..core import reference

    df = pd.DataFrame(renames)
    df = df.groupby(["raw", "township_code", "official", "code"], as_index=False, sort=True)["rows"].sum()
    names = dict(zip(reference.townships()["code"], reference.townships()["name"]))
    df["township"] = df["township_code"].map(names)
    df["rows"] = df["rows"].astype(int)
    return df[VILLAGE_RENAME_COLUMNS]


def _conflict_summary(conflicts: list[dict]) -> dict:
    """``intake.json`` ``conflicts``: counts per table and the first conflicting keys."""
    by_table: dict[str, dict] = {}
    for c in conflicts:
        t = by_table.setdefault(c["table"], {"keys": 0, "rows": 0})
        t["keys"] += 1
        t["rows"] += c["n_rows"]
    return {"total": len(conflicts), "by_table": by_table, "items": conflicts[:_JSON_CONFLICTS],
            "listed": min(len(conflicts), _JSON_CONFLICTS), "file": "conflicts.csv"}


def _conflict_table(conflicts: list[dict]) -> pd.DataFrame:
    """``conflicts.csv``: one line per row of each conflicting key."""
    lines = [{"table": c["table"], "key": ";".join(f"{k}={v}" for k, v in c["key"].items()),
              "n_rows": c["n_rows"], "columns": ";".join(c["columns"]),
              "file": r["file"], "sheet": r["sheet"], "row": r["row"]}
             for c in conflicts for r in c["rows"]]
    return pd.DataFrame(lines, columns=CONFLICT_COLUMNS)


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
        head = "警告：隐藏的数据工作表" if k.get("kind") == "hidden_data_sheet" else "跳过"
        lines.append(f"{head} {k['file']}{sheet}：{k.get('reason', '')}")
    for u in s["unreadable"]:
        lines.append(f"无法读取 {u['file']}：{u['reason']}")
    lines.extend(data_quality_lines(s))
    if "payouts" not in s["tables"]:
        lines.append("注意：没有找到一卡通发放明细（payouts）。正式核查（onecard run）至少需要一个包含"
                     "身份证号、金额、补贴项目、所属期或发放年月列的发放明细文件。")
    lines.extend(unmapped_hint(s))
    return "\n".join(lines)


def data_quality_lines(summary: dict) -> list[str]:
    """Chinese warning lines about what intake changed or found (for the console and reports).

    Covers hidden sheets that were read, control characters removed, overlong cells cut,
    village names folded to another official spelling, and conflicting duplicates.

    Parameters
    ----------
    summary : dict
        The intake summary (``intake.json``).

    Returns
    -------
    list of str
        Empty when there is nothing to say.
    """
    lines = []
    for h in summary.get("hidden_sheets", []):
        if h.get("read"):
            lines.append(f"警告：已按 sources.yaml 读取隐藏的工作表 {h['file']}「{h['sheet']}」（{h['rows']} 行），"
                         "这些行标记为 hidden_sheet。")
    for e in summary.get("files", []):
        where = e["file"] + (f" 工作表「{e['sheet']}」" if e.get("sheet") else "")
        if e.get("control_chars"):
            c = e["control_chars"]
            lines.append(f"已清除控制字符：{where} 中 {c['cells']} 个单元格共 {c['chars']} 个不可见或控制字符"
                         "（如 NUL、文字方向控制符、零宽字符），相关行标记为 control_chars。")
        if e.get("cells_truncated"):
            c = e["cells_truncated"]
            lines.append(f"单元格过长：{where} 中 {c['cells']} 个单元格超过 {c['max_cell_chars']} 字，已截断，"
                         "相关行标记为 cell_truncated。")
    renames = summary.get("village_renames", [])
    if renames:
        lines.append("村（社区）名称已统一为官方名称（详见 intake/village_renames.csv）：" + "；".join(
            f"{r['township'] or r['township_code']} {r['raw']} → {r['official']}（{r['rows']} 行）" for r in renames[:10])
            + ("……" if len(renames) > 10 else ""))
    conflicts = summary.get("conflicts") or {}
    if conflicts.get("total"):
        parts = "，".join(f"{table_schema.TABLE_LABELS.get(t, t)} {v['keys']} 个（{v['rows']} 行）"
                         for t, v in conflicts["by_table"].items())
        lines.append(f"同一主键的记录互相矛盾：{parts}。所有行均保留，未作取舍，详见 intake/conflicts.csv。")
    return lines


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
        _write(sys.stderr, f"错误：{exc}\n")
        return 2
    _write(sys.stdout, summary_text(result) + "\n")
    _write(sys.stdout, f"已写入 {text_name(out)}\n")
    return 0


def _write(stream, text: str) -> None:
    """Write ``text`` to a console stream; under an ASCII locale escape what it cannot encode
    (``\\uXXXX``) instead of dying with ``UnicodeEncodeError``."""
    try:
        stream.write(text)
    except UnicodeEncodeError:
        enc = getattr(stream, "encoding", None) or "ascii"
        stream.write(text.encode(enc, errors="backslashreplace").decode(enc))

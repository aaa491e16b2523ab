"""Intake: any office's Excel/CSV export in, canonical tables out, every row accounted for.

Public API::

    from onecard.intake import intake_path, load_intake, IntakeResult
    result = intake_path("data/")     # folder or one file
    result.tables["payouts"]          # canonical frames (schema.TABLES)
    result.quarantine                 # file, sheet, row, table, reason, detail, raw
    result.summary                    # intake.json content
    result.conflicts                  # conflicts.csv: rows of keys that disagree (kept, not resolved)
    result.village_renames            # village_renames.csv: names folded to another official spelling
    data_quality_lines(result.summary)  # Chinese warning lines for the console / reports
    result.write("out/")

Modules: ``sniff`` (format/encoding), ``readers`` (raw sheets), ``layout``
(header band, footers), ``headers`` (mapping, table recognition), ``ids`` and
``values``/``places`` (normalisers), ``columns``/``sheet`` (per-sheet build),
``cleaning`` (control characters, overlong cells), ``limits`` (resource limits of
``parameters/intake.yaml``), ``conflicts`` (disagreeing duplicates), ``pipeline``
(folder intake, links, outputs, CLI hook).

Source: DATA_CONTRACT.md; issue 3.
"""

from .ids import id_problems
from .limits import IntakeLimits, load_limits
from .pipeline import IntakeResult, cli_intake, data_quality_lines, intake_path, load_intake, summary_text

__all__ = ["IntakeResult", "intake_path", "load_intake", "cli_intake", "summary_text", "id_problems",
           "data_quality_lines", "IntakeLimits", "load_limits"]

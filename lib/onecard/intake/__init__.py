"""Intake: any office's Excel/CSV export in, canonical tables out, every row accounted for.

Public API::

    from onecard.intake import intake_path, load_intake, IntakeResult
    result = intake_path("data/")     # folder or one file
    result.tables["payouts"]          # canonical frames (schema.TABLES)
    result.quarantine                 # file, sheet, row, table, reason, detail, raw
    result.summary                    # intake.json content
    result.write("out/")

Modules: ``sniff`` (format/encoding), ``readers`` (raw sheets), ``layout``
(header band, footers), ``headers`` (mapping, table recognition), ``ids`` and
``values``/``places`` (normalisers), ``columns``/``sheet`` (per-sheet build),
``pipeline`` (folder intake, outputs, CLI hook).

Source: DATA_CONTRACT.md; issue 3.
"""

from .ids import id_problems
from .pipeline import IntakeResult, cli_intake, intake_path, load_intake, summary_text

__all__ = ["IntakeResult", "intake_path", "load_intake", "cli_intake", "summary_text", "id_problems"]

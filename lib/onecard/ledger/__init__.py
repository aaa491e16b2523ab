"""The problem ledger (问题台账): every finding carried to a decision, closed one
by one (逐一销号), reported monthly, and never lost.

Public surface; see ``docs/ledger.md`` for the schema, the workflow and the
FIELD TABLE.
"""

from .exports import export_report, report_tables
from .manual import add_manual, record_submission, submission_status
from .money import CATEGORY_OF_RULE, money_by_category
from .store import Ledger, LedgerError, LedgerImportError, open_ledger
from .upsert import upsert_run
from .workflow import FIELD_TABLE, STATUSES, set_status
from .worksheet import import_worksheet, write_worksheet

__all__ = [
    "CATEGORY_OF_RULE",
    "FIELD_TABLE",
    "STATUSES",
    "Ledger",
    "LedgerError",
    "LedgerImportError",
    "add_manual",
    "export_report",
    "import_worksheet",
    "money_by_category",
    "open_ledger",
    "record_submission",
    "report_tables",
    "set_status",
    "submission_status",
    "upsert_run",
    "write_worksheet",
]

"""One exception family for every user-facing failure.

Every message is Chinese (it is shown to investigators as is) and says what is
wrong and what would be valid. The CLI prints ``str(error)`` without a traceback
and exits with status 2.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "InputFileError",
    "MissingColumnError",
    "TableNotRecognisedError",
    "PolicyError",
    "ParameterError",
    "RunError",
]


class WorkbenchError(Exception):
    """Base class. Raised when a user mistake or bad input stops an operation."""


class InputFileError(WorkbenchError):
    """Raised when an input file is empty, unreadable or in an unknown encoding."""


class MissingColumnError(InputFileError):
    """Raised when a file lacks a column its table requires.

    The message names the file, the headers found and the columns expected.
    """


class TableNotRecognisedError(InputFileError):
    """Raised when the table a file holds cannot be told from its headers.

    The message names the file, the headers found and the closest tables.
    """


class PolicyError(WorkbenchError):
    """Raised when a policy file is invalid: unknown key, overlapping dates, gaps."""


class ParameterError(WorkbenchError):
    """Raised when a run parameter (township, period, YAML file) is invalid."""


class RunError(WorkbenchError):
    """Raised when a run cannot proceed (e.g. no readable payouts) or a batch fails."""

"""The ground floor: what every other layer may use and that uses nothing of theirs.

- ``errors``: the one exception family (``WorkbenchError`` and subclasses);
- ``log``: the package logger;
- ``findings``: the standard findings columns, stable ids, citations, yuan formatting;
- ``tables``: the canonical table schema (columns, kinds, required columns, labels);
- ``reference``: the reference data shipped with the package (divisions, code history);
- ``mask``: the one masking implementation for public output (IDs, accounts, phones, names);
- ``fonts``: the CJK font registration shared by charts, drawings and PDFs.
"""

"""Package data: default parameters, reference data, report templates and notebooks.

Read through :mod:`onecard.core.resources`, never by a path into a clone.
"""

"""Import every rule module so its ``@rule`` decorators register in the catalogue."""

from . import accounts, amounts, disclosure, eligibility, governance, payments, stops  # noqa: F401

try:  # the graph layer (another module owner) registers its own rules
    from ..graph import rules as _graph_rules  # noqa: F401
except ImportError:
    pass

"""The rule catalogue and its rules (see ``catalogue.py``)."""

from .catalogue import CATALOGUE, Rule, RuleContext, catalogue_frame, rule, run_catalogue

__all__ = ["CATALOGUE", "Rule", "RuleContext", "catalogue_frame", "rule", "run_catalogue"]

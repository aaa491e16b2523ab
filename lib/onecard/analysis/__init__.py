"""The district analysis, done once per run, and the parameters it is run with.

- ``district``: :func:`analyse`, :class:`Analysis`, :func:`load_analysis`, :func:`parse_period`;
- ``metrics``: per-township summary metrics;
- ``townships``: the township parameters (self-reported problem counts).
"""

from .district import Analysis, analyse, load_analysis, parse_period

__all__ = ["Analysis", "analyse", "load_analysis", "parse_period"]

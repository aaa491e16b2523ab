"""Preparation and reconciliation: payouts with canonical subsidy names, and the
person x subsidy x month table of what was due against what was paid.

- ``prepare``: subsidy-name folding, month expansion, stop-event months;
- ``reconcile``: :func:`reconcile` (``onecard.recon.reconcile``).
"""

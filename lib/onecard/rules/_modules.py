"""Import every rule module so its ``@rule`` decorators register in the catalogue."""

from . import (accounts, amounts, disclosure, eligibility, governance, network,  # noqa: F401
               network_people, payments, stops)

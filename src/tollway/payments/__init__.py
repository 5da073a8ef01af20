"""Payments: the provider seam (Stripe, Asaas, manual bank transfer and an in-process
fake). Payment methods, attempts and dunning build on it next (docs/payments.md).

The public surface is the providers package's, re-exported whole."""

from tollway.payments.providers import *  # noqa: F403
from tollway.payments.providers import __all__ as __all__

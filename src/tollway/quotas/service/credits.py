"""The credit ledger's say on a consume (kept apart from the quota hot path).

With the product's ``credits.overage: block``, a consume of a metric that an open
plan allocation pays is refused (429 ``credits_exhausted``) once that allocation is
used up. With ``bill`` (the default) this costs one settings read.
"""

from __future__ import annotations

from tollway import ledger
from tollway.customers import Customer
from tollway.kernel.context import Context


def refuse_without_credits(ctx: Context, customer: Customer, metric: str) -> None:
    """Raise :class:`tollway.ledger.CreditsExhausted` when blocked overage applies."""
    ledger.ensure_usage_allowed(ctx, customer.id, metric)

"""Subscriptions a provider collects itself (Stripe Billing, for one linked by a
checkout): Tollway neither charges them nor ends them; the provider's events are
mirrored instead."""

from __future__ import annotations

from tollway.kernel.context import Context
from tollway.payments.repository import PaymentRepository


def collecting_provider(ctx: Context, subscription_id: str) -> str | None:
    """The provider collecting the subscription's invoices; ``None``: Tollway does."""
    link = PaymentRepository(ctx).link(subscription_id)
    return link.provider if link is not None else None

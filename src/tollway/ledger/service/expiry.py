"""Grants expiring on time (a job at ``expires_at`` on the customer's clock)."""

from __future__ import annotations

from tollway.customers import get_customer_by_id
from tollway.kernel.context import Context
from tollway.ledger.balance import SETTLE, entries_sum
from tollway.ledger.repository import ALLOCATION, LedgerRepository
from tollway.ledger.service.allocations import settle_grant
from tollway.ledger.service.common import check_low_balance, expired_event, new_entry


def expire_grant(ctx: Context, grant_id: str) -> None:
    """At a grant's expiry: settle a plan allocation, or write an ``expire`` entry for
    what a paying grant has left and emit ``credits.expired``. Idempotent."""
    repo = LedgerRepository(ctx)
    grant = repo.grant(grant_id, lock=True)
    if grant is None or grant.expires_at is None:
        return
    if grant.source == ALLOCATION:
        settle_grant(ctx, grant, grant.expires_at)
        return
    entries = repo.entries([grant.id])
    left = entries_sum(grant, entries, grant.expires_at)
    if left <= 0 or any(e.kind == SETTLE for e in entries):
        return
    customer = get_customer_by_id(ctx, grant.customer_id)
    repo.add_keyed(new_entry(ctx, grant, SETTLE, -left, grant.expires_at, key=f"expire:{grant.id}"))
    expired_event(ctx, customer, grant, left, grant.expires_at)
    check_low_balance(ctx, customer)

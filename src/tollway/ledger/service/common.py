"""What the ledger use cases share: settings, entries, live positions and the
low-balance alert."""

from __future__ import annotations

from datetime import datetime, timedelta

from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.tenancy import read_settings
from tollway.ledger import events
from tollway.ledger.balance import by_grant, closed, remaining
from tollway.ledger.models import CreditEntry, CreditGrant
from tollway.ledger.repository import ALLOCATION, LedgerRepository
from tollway.ledger.schemas import CreditsSettings
from tollway.ledger.service.burn import burned

SECTION = "credits"
INSTANT = timedelta(microseconds=1)
"""Usage at the very instant a balance is read counts in it."""


def credit_settings(ctx: Context) -> CreditsSettings:
    """The product's ``credits`` settings, defaults filled in."""
    return read_settings(ctx, SECTION, CreditsSettings)


def new_entry(
    ctx: Context,
    grant: CreditGrant,
    kind: str,
    amount: int,
    at: datetime,
    *,
    key: str | None = None,
    invoice_id: str | None = None,
) -> CreditEntry:
    return CreditEntry(
        id=new_id("cre"),
        product_id=ctx.product_id,
        customer_id=grant.customer_id,
        grant_id=grant.id,
        kind=kind,
        amount=amount,
        invoice_id=invoice_id,
        key=key,
        at=at,
    )


def positions(
    ctx: Context,
    customer: Customer,
    grants: list[CreditGrant],
    at: datetime,
    entries: list[CreditEntry] | None = None,
) -> list[tuple[CreditGrant, int]]:
    """Each grant with what it has left at ``at``; open plan allocations burn live
    (usage up to and including ``at``)."""
    if entries is None:
        entries = LedgerRepository(ctx).entries([g.id for g in grants])
    index = by_grant(entries)
    found = []
    for grant in grants:
        own = index.get(grant.id, [])
        burn = 0
        if grant.source == ALLOCATION and grant.granted_at <= at and not closed(grant, own, at):
            burn = burned(ctx, customer, grant, at + INSTANT)
        found.append((grant, remaining(grant, own, at, burn)))
    return found


def balance(ctx: Context, customer: Customer, at: datetime) -> int:
    """The customer's balance in its currency at ``at`` (live)."""
    grants = LedgerRepository(ctx).grants(customer.id, currency=customer.currency)
    return sum(left for _, left in positions(ctx, customer, grants, at))


def expired_event(
    ctx: Context, customer: Customer, grant: CreditGrant, amount: int, at: datetime
) -> None:
    """Record ``credits.expired`` for ``amount`` of ``grant`` gone at ``at``."""
    record_event(
        ctx,
        events.CREDITS_EXPIRED,
        {
            "customer_id": customer.external_id,
            "grant_id": grant.id,
            "source": grant.source,
            "amount": amount,
            "currency": grant.currency,
            "expired_at": at.isoformat(),
        },
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )


def check_low_balance(ctx: Context, customer: Customer) -> None:
    """Fire ``credits.low_balance`` once when the balance is below the threshold;
    re-arm when it is back at or above it. Called after each ledger write."""
    threshold = credit_settings(ctx).low_balance_threshold
    if threshold is None:
        return
    now = ctx.now(customer.test_clock_id)
    current = balance(ctx, customer, now)
    state = LedgerRepository(ctx).lock_alert(customer.id, now)
    low = current < threshold
    if low == state.low:
        return
    state.low, state.changed_at = low, now
    if low:
        record_event(
            ctx,
            events.CREDITS_LOW_BALANCE,
            {
                "customer_id": customer.external_id,
                "balance": current,
                "threshold": threshold,
                "currency": customer.currency,
            },
            customer_id=customer.id,
            test_clock_id=customer.test_clock_id,
        )

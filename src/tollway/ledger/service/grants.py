"""Granting credits, reading the ledger, and expiring grants on time."""

from __future__ import annotations

from datetime import datetime

from tollway.customers import Customer, get_customer
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbox import record_event
from tollway.ledger import events
from tollway.ledger.models import CreditGrant
from tollway.ledger.repository import ALLOCATION, LedgerRepository
from tollway.ledger.schemas import CreditGrantIn, CreditsOut, EntryOut, GrantOut
from tollway.ledger.service.common import check_low_balance, new_entry, positions

SOURCES = ("trial", "plan_allocation", "purchase", "admin", "refund", "promotion")
EXPIRE_JOB = "credits.expire"
SUMMARY_LIMIT = 100
"""At most this many grants and entries (the newest) in a summary."""


def grant_credits(
    ctx: Context,
    customer: Customer,
    *,
    amount: int,
    currency: str,
    source: str,
    reason: str | None = None,
    priority: int = 0,
    expires_at: datetime | None = None,
    key: str | None = None,
    subscription_id: str | None = None,
    plan_code: str | None = None,
    period: tuple[datetime, datetime | None] | None = None,
) -> CreditGrant:
    """Add ``amount`` credits to ``customer``'s ledger; its expiry is scheduled on the
    customer's clock. With ``key`` (unique per product) a repeat returns the first
    grant and writes nothing. Plan allocations give ``period``: they start at its start."""
    repo = LedgerRepository(ctx)
    if key is not None and (found := repo.grant_by_key(key)) is not None:
        return found
    now = ctx.now(customer.test_clock_id)
    if source not in SOURCES:
        raise ValidationFailed.field("source", f"must be one of {', '.join(SOURCES)}")
    if amount <= 0:
        raise ValidationFailed.field("amount", "must be greater than 0")
    start = period[0] if period is not None else now
    if expires_at is not None and expires_at <= start:
        raise ValidationFailed.field("expires_at", "must be in the future")
    grant = CreditGrant(
        id=new_id("cgr"),
        product_id=ctx.product_id,
        customer_id=customer.id,
        source=source,
        priority=priority,
        amount=amount,
        currency=currency,
        reason=reason,
        expires_at=expires_at,
        subscription_id=subscription_id,
        plan_code=plan_code,
        period_start=period[0] if period is not None else None,
        period_end=period[1] if period is not None else None,
        key=key,
        granted_at=start,
    )
    if not repo.add_keyed(grant):
        raced = repo.grant_by_key(key or "")
        if raced is None:
            raise RuntimeError(f"grant key {key!r} taken but not found")
        return raced
    repo.add_keyed(new_entry(ctx, grant, "grant", amount, start))
    if expires_at is not None:
        enqueue(
            ctx,
            EXPIRE_JOB,
            {"grant_id": grant.id},
            due_at=expires_at,
            test_clock_id=customer.test_clock_id,
            dedup_key=f"credits-expire:{grant.id}",
        )
    data = {
        "customer_id": customer.external_id,
        **GrantOut.of(grant, amount).model_dump(mode="json"),
    }
    if source != ALLOCATION:
        audit(
            ctx,
            "credits.grant",
            subject_type="credit_grant",
            subject_id=grant.id,
            before=None,
            after=data,
            customer_id=customer.id,
            test_clock_id=customer.test_clock_id,
        )
    record_event(
        ctx,
        events.CREDITS_GRANTED,
        data,
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    check_low_balance(ctx, customer)
    return grant


def grant_from_api(ctx: Context, external_id: str, body: CreditGrantIn) -> CreditGrant:
    """An admin grant over the API, in the customer's currency (secret keys only)."""
    require_full_access(ctx, "grant credits")
    customer = get_customer(ctx, external_id)
    return grant_credits(
        ctx,
        customer,
        amount=body.amount,
        currency=customer.currency,
        source=body.source,
        reason=body.reason,
        priority=body.priority,
        expires_at=body.expires_at,
    )


def refund_to_balance(
    ctx: Context, customer: Customer, *, amount: int, currency: str, reason: str, key: str
) -> CreditGrant:
    """Credit ``amount`` back to the balance (a credit note); idempotent by ``key``."""
    return grant_credits(
        ctx, customer, amount=amount, currency=currency, source="refund", reason=reason, key=key
    )


def credit_summary(ctx: Context, customer: Customer, *, at: datetime | None = None) -> CreditsOut:
    """The customer's balance in its currency at ``at`` (default now; live), with its
    newest grants (what each has left) and entries."""
    at = at or ctx.now(customer.test_clock_id)
    repo = LedgerRepository(ctx)
    grants = repo.grants(customer.id)
    left = positions(ctx, customer, grants, at)
    shown = sorted(left, key=lambda p: p[0].id, reverse=True)[:SUMMARY_LIMIT]
    return CreditsOut(
        customer_id=customer.external_id,
        balance=sum(r for g, r in left if g.currency == customer.currency),
        currency=customer.currency,
        at=at,
        grants=[GrantOut.of(g, r) for g, r in shown],
        entries=[EntryOut.of(e) for e in repo.recent_entries(customer.id, SUMMARY_LIMIT)],
    )

"""Paying invoices from the balance, and giving the credits back when one is voided.

Only paying grants (every source but ``plan_allocation``) pay invoices. The grants
of the customer's currency are locked (``FOR UPDATE``, in id order) before their
remainders are read, so concurrent applications never spend a credit twice; what a
grant may give counts all its entries, also those dated after the invoice's ``at``.
"""

from __future__ import annotations

from datetime import datetime

from tollway.customers import get_customer_by_id
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.ledger.balance import (
    SETTLE,
    allocate,
    by_grant,
    consumption_order,
    expiry_key,
    spendable,
)
from tollway.ledger.models import CreditEntry, CreditGrant
from tollway.ledger.repository import LedgerRepository
from tollway.ledger.service.common import check_low_balance, expired_event, new_entry

CONSUME, RELEASE = "consume", "release"


def apply_to_invoice(
    ctx: Context, customer_id: str, *, currency: str, amount: int, invoice_id: str, at: datetime
) -> int:
    """Pay up to ``amount`` of invoice ``invoice_id`` from the customer's (internal id)
    paying grants in ``currency``: soonest-expiring first, then higher priority, then
    oldest. Idempotent per invoice: a repeat returns what was applied the first time.
    Returns the amount applied."""
    if amount < 0:
        raise ValidationFailed.field("amount", "must not be negative")
    customer = get_customer_by_id(ctx, customer_id)
    repo = LedgerRepository(ctx)
    grants = repo.grants(customer.id, currency=currency, paying=True, lock=True)
    already = [e for e in repo.invoice_entries(invoice_id) if e.kind == CONSUME]
    if already:
        return -sum(e.amount for e in already)
    if amount == 0 or not grants:
        return 0
    index = by_grant(repo.entries([g.id for g in grants]))
    available = [(g, spendable(g, index.get(g.id, []), at)) for g in consumption_order(grants)]
    by_id = {g.id: g for g in grants}
    taken = allocate(amount, available)
    for grant_id, part in taken:
        entry = new_entry(
            ctx,
            by_id[grant_id],
            CONSUME,
            -part,
            at,
            key=f"apply:{invoice_id}:{grant_id}",
            invoice_id=invoice_id,
        )
        repo.add_keyed(entry)
    check_low_balance(ctx, customer)
    return sum(part for _, part in taken)


def release_invoice(ctx: Context, invoice_id: str, at: datetime) -> int:
    """Give the credits applied to a voided invoice back to the grants they came from
    (a grant that has expired since, or whose expiry was already written, expires
    them again). Idempotent: returns the amount released for the invoice, the first
    time or any later."""
    repo = LedgerRepository(ctx)
    applied = repo.invoice_entries(invoice_id)
    if not applied:
        return 0
    customer = get_customer_by_id(ctx, applied[0].customer_id)
    grants = {
        g.id: g
        for g in repo.grants(customer.id, lock=True)
        if g.id in {e.grant_id for e in applied}
    }
    released = {e.grant_id for e in applied if e.kind == RELEASE}
    total = sum(e.amount for e in applied if e.kind == RELEASE)
    for entry in applied:
        if entry.kind != CONSUME or entry.grant_id in released:
            continue
        grant = grants[entry.grant_id]
        back = -entry.amount
        key = f"release:{invoice_id}:{grant.id}"
        repo.add_keyed(new_entry(ctx, grant, RELEASE, back, at, key=key, invoice_id=invoice_id))
        total += back
        gone_at = _expired_by(grant, repo.entries([grant.id]), at)
        if gone_at is not None:
            gone = new_entry(ctx, grant, SETTLE, -back, gone_at, key=f"release-expire:{key}")
            repo.add_keyed(gone)
            expired_event(ctx, customer, grant, back, gone_at)
    check_low_balance(ctx, customer)
    return total


def _expired_by(grant: CreditGrant, entries: list[CreditEntry], at: datetime) -> datetime | None:
    """When credits released onto ``grant`` at ``at`` expire again, when the expiry job
    will not see them: the grant expired by ``at``, or its expiry entry is written."""
    if grant.expires_at is None:
        return None
    if grant.expires_at <= at or any(e.key == expiry_key(grant) for e in entries):
        return max(at, grant.expires_at)
    return None

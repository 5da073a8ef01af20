"""Paying invoices from the balance, and giving the credits back when one is voided.

Only paying grants (every source but ``plan_allocation``) pay invoices. The grants
of the customer's currency are locked (``FOR UPDATE``, in id order) before their
remainders are read, so concurrent applications never spend a credit twice.
"""

from __future__ import annotations

from datetime import datetime

from tollway.customers import get_customer_by_id
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.ledger.balance import SETTLE, allocate, closed, consumption_order
from tollway.ledger.repository import LedgerRepository
from tollway.ledger.service.common import (
    check_low_balance,
    expired_event,
    new_entry,
    positions,
)

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
    entries = repo.entries([g.id for g in grants])
    available = positions(ctx, customer, consumption_order(grants), at, entries)
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
    (a grant that has expired since expires them again at once). Idempotent:
    returns the amount released for the invoice, the first time or any later."""
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
        if closed(grant, repo.entries([grant.id]), at):
            gone = new_entry(ctx, grant, SETTLE, -back, at, key=f"release-expire:{key}")
            repo.add_keyed(gone)
            expired_event(ctx, customer, grant, back, at)
    check_low_balance(ctx, customer)
    return total

"""Paying invoices from the balance, and giving the credits back when one is voided.

Only paying grants (every source but ``plan_allocation``) pay invoices. The grants
of the customer's currency are locked (``FOR UPDATE``, in id order) before their
remainders are read, so concurrent applications never spend a credit twice; what a
grant may give counts all its entries, also those dated after the invoice's ``at``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class InvoicePayment:
    """Pay up to ``amount`` of invoice ``invoice_id`` from the balance of customer
    ``customer_id`` (internal id) in ``currency``, as of ``at``."""

    customer_id: str
    currency: str
    amount: int
    invoice_id: str
    at: datetime


def apply_to_invoice(
    ctx: Context, customer_id: str, *, currency: str, amount: int, invoice_id: str, at: datetime
) -> int:
    """Pay up to ``amount`` of invoice ``invoice_id`` from the customer's (internal id)
    paying grants in ``currency``: soonest-expiring first, then higher priority, then
    oldest. Idempotent per invoice: a repeat returns what was applied the first time.
    Returns the amount applied."""
    payment = InvoicePayment(customer_id, currency, amount, invoice_id, at)
    return apply_to_invoices(ctx, [payment])[invoice_id]


def apply_to_invoices(ctx: Context, payments: Sequence[InvoicePayment]) -> dict[str, int]:
    """:func:`apply_to_invoice` for many invoices (amount applied by invoice id): the
    paying grants of all their customers are locked and read in one query, the
    entries already applied to them in another; only customers with paying grants
    cost more."""
    if any(p.amount < 0 for p in payments):
        raise ValidationFailed.field("amount", "must not be negative")
    repo = LedgerRepository(ctx)
    grants_of: dict[str, list[CreditGrant]] = defaultdict(list)
    for grant in repo.grants_of({p.customer_id for p in payments}, paying=True, lock=True):
        grants_of[grant.customer_id].append(grant)
    already: dict[str, list[CreditEntry]] = defaultdict(list)
    for entry in repo.entries_of_invoices([p.invoice_id for p in payments]):
        if entry.kind == CONSUME:
            already[entry.invoice_id or ""].append(entry)
    applied: dict[str, int] = {}
    for payment in payments:
        grants = [g for g in grants_of[payment.customer_id] if g.currency == payment.currency]
        if already[payment.invoice_id]:
            applied[payment.invoice_id] = -sum(e.amount for e in already[payment.invoice_id])
        elif payment.amount == 0 or not grants:
            applied[payment.invoice_id] = 0
        else:
            applied[payment.invoice_id] = _spend(ctx, repo, grants, payment)
    return applied


def _spend(
    ctx: Context, repo: LedgerRepository, grants: list[CreditGrant], payment: InvoicePayment
) -> int:
    """Take what ``payment`` may have from ``grants`` (the customer's, locked)."""
    index = by_grant(repo.entries([g.id for g in grants]))
    available = [
        (g, spendable(g, index.get(g.id, []), payment.at)) for g in consumption_order(grants)
    ]
    by_id = {g.id: g for g in grants}
    taken = allocate(payment.amount, available)
    for grant_id, part in taken:
        entry = new_entry(
            ctx,
            by_id[grant_id],
            CONSUME,
            -part,
            payment.at,
            key=f"apply:{payment.invoice_id}:{grant_id}",
            invoice_id=payment.invoice_id,
        )
        repo.add_keyed(entry)
    check_low_balance(ctx, get_customer_by_id(ctx, payment.customer_id))
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

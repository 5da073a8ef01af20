"""What Asaas's payment events do (``data`` is the payment). A payment Tollway
made carries the attempt id as ``externalReference``.

- ``PAYMENT_RECEIVED`` / ``PAYMENT_CONFIRMED``: the attempt succeeded, the invoice
  is paid (the second of the two changes nothing).
- ``PAYMENT_OVERDUE``: a pending boleto or PIX went unpaid: the attempt failed
  (``payment.failed``, and a retry on the product's schedule).
- ``PAYMENT_REFUNDED``: the refund is recorded on the attempt (``payment.refunded``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from tollway.kernel.context import Context
from tollway.kernel.money import to_minor
from tollway.payments.models import PaymentAttempt
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes

ASAAS = "asaas"


def _attempt(ctx: Context, payment: Mapping[str, Any]) -> tuple[Context, PaymentAttempt] | None:
    repo = PaymentRepository(ctx)
    reference = payment.get("externalReference")
    attempt = repo.attempt_by_id(str(reference), lock=True) if reference else None
    if attempt is None and payment.get("id"):
        attempt = repo.attempt_by_payment(ASAAS, str(payment["id"]))
    if attempt is None or attempt.provider != ASAAS:
        return None
    return outcomes.in_product(ctx, attempt.product_id), attempt


def received(ctx: Context, payment: Mapping[str, Any]) -> bool:
    found = _attempt(ctx, payment)
    if found is None:
        return False
    scoped, attempt = found
    if attempt.status != outcomes.SUCCEEDED:
        value = payment.get("value")
        collected = None if value is None else to_minor(Decimal(str(value)), attempt.currency)
        outcomes.succeed(scoped, attempt, str(payment.get("id")), collected=collected)
    return True


def overdue(ctx: Context, payment: Mapping[str, Any]) -> bool:
    found = _attempt(ctx, payment)
    if found is None:
        return False
    scoped, attempt = found
    if attempt.status in (outcomes.PENDING, outcomes.PROCESSING):
        outcomes.fail(scoped, attempt, "overdue", "the payment was not made by its due date")
    return True


def refunded(ctx: Context, payment: Mapping[str, Any]) -> bool:
    found = _attempt(ctx, payment)
    if found is None:
        return False
    scoped, attempt = found
    value = payment.get("refundedValue") or payment.get("value")
    amount = (
        to_minor(Decimal(str(value)), attempt.currency) if value is not None else attempt.amount
    )
    outcomes.refunded(scoped, attempt, amount)
    return True


HANDLERS: dict[str, Callable[[Context, Mapping[str, Any]], bool]] = {
    "PAYMENT_RECEIVED": received,
    "PAYMENT_CONFIRMED": received,
    "PAYMENT_OVERDUE": overdue,
    "PAYMENT_REFUNDED": refunded,
}

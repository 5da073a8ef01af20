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
from tollway.payments.errors import MalformedObject
from tollway.payments.models import PaymentAttempt
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes

ASAAS = "asaas"
_MAX_MAJOR = Decimal(10**12)


def _attempt(ctx: Context, payment: Mapping[str, Any]) -> tuple[Context, PaymentAttempt] | None:
    repo = PaymentRepository(ctx)
    reference = payment.get("externalReference")
    attempt = repo.attempt_by_id(str(reference), lock=True) if reference else None
    if attempt is None and payment.get("id"):
        attempt = repo.attempt_by_payment(ASAAS, str(payment["id"]))
    if attempt is None or attempt.provider != ASAAS:
        return None
    return outcomes.in_product(ctx, attempt.product_id), attempt


def _refunded(payment: Mapping[str, Any], attempt: PaymentAttempt) -> int:
    """The refunded amount in minor units (the whole attempt when Asaas does not say);
    a value that is not an amount between 0 and the attempt's is a 400."""
    field = "refundedValue" if payment.get("refundedValue") is not None else "value"
    value = payment.get(field)
    if value is None:
        return attempt.amount
    try:
        if isinstance(value, bool) or not isinstance(value, (int, Decimal, str)):
            raise ValueError(f"not a number: {value!r}")
        number = Decimal(str(value))
        if not number.is_finite() or number.copy_abs() > _MAX_MAJOR:
            raise ValueError(f"not an amount: {value!r}")
        amount = to_minor(number, attempt.currency)
    except (ValueError, ArithmeticError) as exc:
        raise MalformedObject(f"payment.{field}: {exc}", field=f"payment.{field}") from exc
    if not 0 <= amount <= attempt.amount:
        message = f"payment.{field}: must be between 0 and {attempt.amount} minor units"
        raise MalformedObject(message, field=f"payment.{field}")
    return amount


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
    outcomes.refunded(scoped, attempt, _refunded(payment, attempt))
    return True


HANDLERS: dict[str, Callable[[Context, Mapping[str, Any]], bool]] = {
    "PAYMENT_RECEIVED": received,
    "PAYMENT_CONFIRMED": received,
    "PAYMENT_OVERDUE": overdue,
    "PAYMENT_REFUNDED": refunded,
}

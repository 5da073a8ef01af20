"""After an invoice is settled: pending charges are canceled at the provider, and
money collected anyway is refunded, each as an :class:`OutsideWork` job.

- ``payments.cancel_charge``: when an invoice is paid or voided, or a pending
  charge (boleto, PIX) fails as overdue before a retry issues a new one, the
  provider is asked to cancel it so that it can no longer be paid. A pending
  attempt canceled is ``canceled``; a provider that cannot cancel (Stripe charges
  cards only, a payment already made) leaves it as it is.
- ``payments.refund``: a provider payment that succeeds on an invoice no longer
  payable (paid by an admin or another attempt, voided while the charge was in
  flight, two boletos both paid) is recorded as succeeded, reported as
  ``payment.collected_after_settlement`` and refunded in full with operation id
  ``refund:<attempt id>``; ``payment.refunded`` follows once the provider says the
  refund is made (at once, or by its webhook), ``payment.refund_failed`` when the
  provider refuses it (then a person must pay it back).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from tollway.kernel.context import Context
from tollway.kernel.outbox import record_event
from tollway.payments.events import PAYMENT_REFUND_FAILED
from tollway.payments.gateway import Providers
from tollway.payments.providers import (
    NotConfigured,
    ProviderRequestFailed,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    Unsupported,
)
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes

T = TypeVar("T")


@dataclass(frozen=True)
class Unreachable:
    """The provider could not be reached: nothing is known to have happened."""

    error: str


@dataclass(frozen=True)
class Refused:
    """The provider refused the request (or has no such operation)."""

    code: str
    message: str


@dataclass(frozen=True)
class PreparedCancel:
    provider: str
    attempt_id: str
    provider_payment_id: str


@dataclass(frozen=True)
class PreparedRefund:
    provider: str
    attempt_id: str
    request: RefundRequest


def cancel_pending(ctx: Context, invoice_id: str) -> None:
    """Cancel every pending charge of a settled invoice."""
    for attempt in PaymentRepository(ctx).attempts(invoice_id):
        if attempt.status == outcomes.PENDING and attempt.provider_payment_id:
            outcomes.schedule_cancel(ctx, attempt)


def prepare_cancel(ctx: Context, payload: dict[str, Any]) -> PreparedCancel | None:
    attempt = PaymentRepository(ctx).attempt_by_id(payload["attempt_id"])
    if attempt is None or attempt.provider_payment_id is None:
        return None
    if attempt.status not in (outcomes.PENDING, outcomes.FAILED):
        return None
    return PreparedCancel(attempt.provider, attempt.id, attempt.provider_payment_id)


def perform_cancel(
    prepared: PreparedCancel, *, providers: Providers
) -> Unreachable | Refused | None:
    return ask(lambda: providers.get(prepared.provider).cancel_charge(prepared.provider_payment_id))


def complete_cancel(
    ctx: Context,
    payload: dict[str, Any],
    prepared: PreparedCancel,
    result: Unreachable | Refused | None,
) -> None:
    if isinstance(result, Unreachable):
        raise ProviderUnavailable(prepared.provider, f"retry later: {result.error}")
    attempt = PaymentRepository(ctx).attempt_by_id(prepared.attempt_id, lock=True)
    if result is None and attempt is not None and attempt.status == outcomes.PENDING:
        attempt.status = outcomes.CANCELED
        attempt.settled_at = ctx.now(attempt.test_clock_id)


def prepare_refund(ctx: Context, payload: dict[str, Any]) -> PreparedRefund | None:
    attempt = PaymentRepository(ctx).attempt_by_id(payload["attempt_id"])
    if attempt is None or attempt.status != outcomes.SUCCEEDED:
        return None
    owed = attempt.amount - attempt.amount_refunded
    if attempt.provider_payment_id is None or owed <= 0:
        return None
    request = RefundRequest(
        operation_id=f"refund:{attempt.id}",
        provider_payment_id=attempt.provider_payment_id,
        currency=attempt.currency,
        amount=owed,
        reason="collected after the invoice was settled",
    )
    return PreparedRefund(attempt.provider, attempt.id, request)


def perform_refund(
    prepared: PreparedRefund, *, providers: Providers
) -> RefundResult | Unreachable | Refused:
    return ask(lambda: providers.get(prepared.provider).refund(prepared.request))


def complete_refund(
    ctx: Context,
    payload: dict[str, Any],
    prepared: PreparedRefund,
    result: RefundResult | Unreachable | Refused,
) -> None:
    if isinstance(result, Unreachable):
        raise ProviderUnavailable(prepared.provider, f"retry later: {result.error}")
    attempt = PaymentRepository(ctx).attempt_by_id(prepared.attempt_id, lock=True)
    if attempt is None:
        return
    if isinstance(result, Refused) or result.status == "failed":
        refused = result if isinstance(result, Refused) else Refused("refund_failed", "")
        record_event(
            ctx,
            PAYMENT_REFUND_FAILED,
            {
                **outcomes.refund_data(attempt, prepared.request.amount or attempt.amount),
                "failure_code": refused.code,
                "failure_message": refused.message,
            },
            customer_id=attempt.customer_id,
            test_clock_id=attempt.test_clock_id,
        )
    elif result.status == "succeeded":
        outcomes.refunded(ctx, attempt, attempt.amount_refunded + (prepared.request.amount or 0))


def ask(call: Callable[[], T]) -> T | Unreachable | Refused:
    """``call`` a provider (no transaction open): an outage is :class:`Unreachable`
    (retry with the same operation id), a refusal :class:`Refused` (final)."""
    try:
        return call()
    except ProviderUnavailable as exc:
        return Unreachable(str(exc))
    except ProviderRequestFailed as exc:
        return Refused(exc.code or "provider_request_failed", exc.message)
    except (Unsupported, NotConfigured) as exc:
        return Refused(exc.code, exc.detail)

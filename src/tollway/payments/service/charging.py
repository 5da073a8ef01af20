"""Charging finalized invoices off-session, as an :class:`OutsideWork` job.

``invoice.finalized`` of a customer with a default payment method (Tollway's
``charge_automatically``; others are ``send_invoice``: they pay by other means) and
something due schedules attempt 1 of the invoice's ``payments.charge`` job. The job:

- ``prepare`` (one transaction): takes the attempt row, unique per (invoice,
  number), inserting it as ``processing`` (with the provider's customer and
  method references) if it is new and the invoice is still open (paid by any
  path, voided: retries end there); an attempt already ``processing`` is asked
  about again whatever happened to the invoice or the method since. Its id, derived
  from the invoice and the number, is the operation id the provider deduplicates
  by, so even a run whose writes were rolled back asks the provider the same thing.
- ``perform`` (no transaction open): calls the provider.
- ``complete`` (a second transaction): records the outcome once (a second worker
  finds the attempt settled and does nothing). When the provider could not be
  reached, it raises: the job is retried with backoff, same attempt, same
  operation id.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from tollway.invoicing import Invoice, get_invoice
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.kernel.outbox import Event
from tollway.payments.gateway import Providers
from tollway.payments.models import PaymentAttempt
from tollway.payments.providers import (
    ChargeRequest,
    ChargeResult,
    Instructions,
    NotConfigured,
    ProviderRequestFailed,
    ProviderUnavailable,
    Unsupported,
)
from tollway.payments.repository import PaymentRepository
from tollway.payments.service import outcomes, settlement
from tollway.payments.service.outcomes import PAYABLE, PENDING, PROCESSING
from tollway.payments.service.settlement import Unreachable

FINAL_CODES = frozenset({Unsupported.code, NotConfigured.code})
"""Failures no retry can cure: the provider cannot charge this at all."""


@dataclass(frozen=True)
class PreparedCharge:
    provider: str
    attempt_id: str
    request: ChargeRequest


def collected_by_provider(ctx: Context, invoice: Invoice) -> bool:
    """Whether a provider subscription collects this invoice itself (Stripe Billing)."""
    sub_id = invoice.subscription_id
    return sub_id is not None and PaymentRepository(ctx).link(sub_id) is not None


def on_invoice_events(ctx: Context, event: Event, *, providers: Providers) -> None:
    """``invoice.finalized``: schedule the first charge of an auto-charge invoice;
    ``invoice.paid`` / ``invoice.voided``: no retry is due any more, and pending
    charges (boleto, PIX) are canceled at the provider."""
    try:
        invoice = get_invoice(ctx, event.data["id"])
    except NotFound:  # its customer was deleted since
        return
    if event.type != "invoice.finalized":
        stop_collection(ctx, invoice)
        return
    if not providers.enabled:
        return
    if invoice.status != "open" or invoice.amount_due <= 0 or collected_by_provider(ctx, invoice):
        return
    if PaymentRepository(ctx).default_method(invoice.customer_id) is None:
        return
    outcomes.schedule_charge(ctx, invoice, 1, ctx.now(invoice.test_clock_id))


def stop_collection(ctx: Context, invoice: Invoice) -> None:
    """No further try for ``invoice``: scheduled retries do nothing and pending
    charges (boleto, PIX) are canceled at the provider. Paying or voiding the invoice
    does this, and so does dunning when it ends the paid service of an unpaid one
    (like Stripe, which stops collecting a canceled subscription's invoices)."""
    PaymentRepository(ctx).stop_retries([invoice.id], ctx.now(invoice.test_clock_id))
    settlement.cancel_pending(ctx, invoice.id)


def prepare_charge(ctx: Context, payload: dict[str, Any]) -> PreparedCharge | None:
    """Take (or find) the attempt; ``None`` when there is nothing to charge. An
    attempt already ``processing`` is asked again whatever became of the invoice,
    the method or the provider account since: the provider decides what happened."""
    try:
        invoice = get_invoice(ctx, payload["invoice_id"])
    except NotFound:
        return None
    repo = PaymentRepository(ctx)
    number: int = payload["attempt"]
    attempt = repo.attempt(invoice.id, number)
    if attempt is None:
        attempt = _new_attempt(ctx, invoice, number)
    if attempt is None or attempt.status != PROCESSING:
        return None
    if attempt.customer_ref is None:  # an attempt taken before the references were kept
        method = repo.method(invoice.customer_id, attempt.payment_method_id or "")
        account = repo.account(invoice.customer_id, attempt.provider)
        if method is None or account is None:
            outcomes.fail(ctx, attempt, "payment_method_removed", "the payment method is gone")
            return None
        attempt.customer_ref, attempt.payment_method_ref = account.reference, method.reference
    assert invoice.due_date is not None
    request = ChargeRequest(
        operation_id=attempt.id,
        amount=attempt.amount,
        currency=attempt.currency,
        customer_ref=attempt.customer_ref,
        description=f"Invoice {invoice.number}",
        due_date=invoice.due_date.date(),
        payment_method_ref=attempt.payment_method_ref,
        metadata={"tollway_invoice_id": invoice.id, "tollway_attempt": str(number)},
    )
    return PreparedCharge(attempt.provider, attempt.id, request)


def _new_attempt(ctx: Context, invoice: Invoice, number: int) -> PaymentAttempt | None:
    """Attempt ``number`` of an open invoice, charging the customer's default method
    (inserted once: a racing worker's row wins)."""
    if invoice.status != "open" or invoice.amount_due <= 0:
        return None
    repo = PaymentRepository(ctx)
    previous = repo.attempt(invoice.id, number - 1) if number > 1 else None
    if number > 1 and (previous is None or previous.next_retry_at is None):
        return None  # the retries were stopped (stop_collection)
    method = repo.default_method(invoice.customer_id)
    account = repo.account(invoice.customer_id, method.provider) if method else None
    if method is None or account is None:
        return None
    fresh = PaymentAttempt(
        id=outcomes.attempt_id(invoice, number),
        product_id=ctx.product_id,
        invoice_id=invoice.id,
        customer_id=invoice.customer_id,
        test_clock_id=invoice.test_clock_id,
        number=number,
        provider=method.provider,
        payment_method_id=method.id,
        customer_ref=account.reference,
        payment_method_ref=method.reference,
        amount=invoice.amount_due,
        currency=invoice.currency,
        status=PROCESSING,
        amount_refunded=0,
        attempted_at=ctx.now(invoice.test_clock_id),
    )
    return fresh if repo.insert_once(fresh) else repo.attempt(invoice.id, number)


def perform_charge(prepared: PreparedCharge, *, providers: Providers) -> ChargeResult | Unreachable:
    """Call the provider (no transaction is open). A refused request is a failure."""
    try:
        return providers.get(prepared.provider).charge(prepared.request)
    except ProviderUnavailable as exc:
        return Unreachable(str(exc))
    except ProviderRequestFailed as exc:
        return ChargeResult("failed", None, exc.code or "provider_request_failed", exc.message)
    except (Unsupported, NotConfigured) as exc:  # retrying will not help: final
        return ChargeResult("failed", None, exc.code, exc.detail)


def complete_charge(
    ctx: Context,
    payload: dict[str, Any],
    prepared: PreparedCharge,
    result: ChargeResult | Unreachable,
) -> None:
    """Record the outcome once; raise to retry later when the provider was unreachable."""
    attempt = PaymentRepository(ctx).attempt_by_id(prepared.attempt_id, lock=True)
    if attempt is None or attempt.status != PROCESSING:
        return
    if isinstance(result, Unreachable):
        raise ProviderUnavailable(prepared.provider, f"retry later: {result.error}")
    attempt.provider_payment_id = result.provider_payment_id
    if result.status == "succeeded":
        outcomes.succeed(ctx, attempt, result.provider_payment_id)
    elif result.status == "failed":
        retry = result.failure_code not in FINAL_CODES
        outcomes.fail(ctx, attempt, result.failure_code, result.failure_message, retry=retry)
    else:
        attempt.status = PENDING
        attempt.instructions = _instructions(result.instructions)
        if get_invoice(ctx, attempt.invoice_id).status not in PAYABLE:
            outcomes.schedule_cancel(ctx, attempt)  # settled while the charge was made


def _instructions(instructions: Instructions | None) -> dict[str, Any] | None:
    if instructions is None:
        return None
    fields = {
        k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(instructions).items()
    }
    return {"type": type(instructions).__name__.removesuffix("Instructions").lower(), **fields}

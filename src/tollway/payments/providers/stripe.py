"""Stripe through its official SDK (``StripeClient``).

Requests go to ``api_base`` (Stripe by default; a local fake in tests) with the API
version pinned by the installed SDK. The SDK retries connection errors, 409 and
5xx answers up to ``max_network_retries`` times, resending the same
``Idempotency-Key``, which Tollway derives from its own operation id, so a retried
charge is never charged twice.

Off-session charges are PaymentIntents created with ``confirm=true`` and
``off_session=true``: ``succeeded`` is paid, ``processing`` is pending, and a decline
(HTTP 402, or a PaymentIntent left needing a new payment method or customer
action) is a failed result carrying Stripe's decline code.

Inbound webhooks are verified as Stripe documents (and as
``stripe.Webhook.construct_event`` does), but against the injected clock: the
``Stripe-Signature`` header carries ``t=<unix time>`` and one or more
``v1=<hex HMAC-SHA256 of "t.body" keyed by the endpoint secret>``; one ``v1`` must
match (compared in constant time) and ``t`` must be within the tolerance (300 s) of
now, in either direction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TypeVar

import stripe
from stripe.params import CustomerCreateParams, PaymentIntentCreateParams, RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from tollway.payments.providers.base import (
    ChargeRequest,
    ChargeResult,
    CheckoutRequest,
    CheckoutSession,
    InvalidSignature,
    NewCustomer,
    PaymentDeclined,
    PaymentMethod,
    PortalRequest,
    ProviderEvent,
    ProviderRequestFailed,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    RefundStatus,
    Unsupported,
    WebhookRejected,
    header,
    idempotency_key,
)

T = TypeVar("T")
SIGNATURE_HEADER = "Stripe-Signature"
DEFAULT_TOLERANCE_SECONDS = 300
_PENDING_INTENT = {"processing", "requires_capture"}
_MAX_SIGNATURE_HEADER = 4096
"""Longer headers are refused before parsing (Stripe's carry a few ``v1``: < 500 bytes)."""
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_REFUND_STATUS: dict[str, RefundStatus] = {
    "succeeded": "succeeded",
    "pending": "pending",
    "requires_action": "pending",
}


class StripeProvider:
    """Stripe (``provider=stripe``)."""

    name = "stripe"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_secret: str | None,
        api_base: str | None = None,
        max_network_retries: int = 2,
        timeout_seconds: float = 30.0,
        tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    ) -> None:
        self._webhook_secret = webhook_secret
        self._tolerance = tolerance_seconds
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else None,
            max_network_retries=max_network_retries,
            http_client=stripe.RequestsClient(timeout=timeout_seconds),
        )

    def create_customer(self, customer: NewCustomer) -> str:
        params: CustomerCreateParams = {
            "name": customer.name,
            "metadata": {**customer.metadata, "tollway_customer_id": customer.external_id},
        }
        if customer.email:
            params["email"] = customer.email
        created = self._call(
            lambda: self._client.v1.customers.create(
                params=params,
                options={"idempotency_key": idempotency_key(customer.operation_id, "customer")},
            )
        )
        return created.id

    def attach_payment_method(
        self, *, operation_id: str, customer_ref: str, token: str
    ) -> PaymentMethod:
        """``token`` is a PaymentMethod id (``pm_...``, from Stripe.js or a SetupIntent)
        or a card token (``tok_...``), which is first turned into a PaymentMethod."""
        methods = self._client.v1.payment_methods
        reference = token
        if token.startswith("tok_"):
            created = self._call(
                lambda: methods.create(
                    params={"type": "card", "card": {"token": token}},
                    options={"idempotency_key": idempotency_key(operation_id, "payment_method")},
                )
            )
            reference = created.id
        attached = self._call(
            lambda: methods.attach(
                reference,
                params={"customer": customer_ref},
                options={"idempotency_key": idempotency_key(operation_id, "attach")},
            )
        )
        return _payment_method(attached)

    def list_payment_methods(self, customer_ref: str) -> list[PaymentMethod]:
        page = self._call(
            lambda: self._client.v1.customers.payment_methods.list(
                customer_ref, params={"type": "card", "limit": 100}
            )
        )
        return self._call(lambda: [_payment_method(m) for m in page.auto_paging_iter()])

    def detach_payment_method(self, payment_method_ref: str) -> None:
        try:
            self._call(lambda: self._client.v1.payment_methods.detach(payment_method_ref))
        except ProviderRequestFailed as exc:
            if exc.code != "resource_missing":  # a deleted method is detached already
                raise

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if request.method != "card":
            raise Unsupported("the Stripe adapter charges cards only", provider=self.name)
        if request.payment_method_ref is None:
            raise ProviderRequestFailed(self.name, "card charges need a payment method")
        params: PaymentIntentCreateParams = {
            "amount": request.amount,
            "currency": request.currency.lower(),
            "customer": request.customer_ref,
            "payment_method": request.payment_method_ref,
            "off_session": True,
            "confirm": True,
            "description": request.description,
            "metadata": {**request.metadata, "tollway_operation_id": request.operation_id},
        }
        try:
            intent = self._call(
                lambda: self._client.v1.payment_intents.create(
                    params=params,
                    options={"idempotency_key": idempotency_key(request.operation_id, "charge")},
                ),
                declines=False,
            )
        except stripe.CardError as exc:
            error = exc.error
            intent_id = error.payment_intent.id if error and error.payment_intent else None
            code = (error.decline_code or error.code) if error else exc.code
            return ChargeResult("failed", intent_id, code, exc.user_message)
        if intent.status == "succeeded":
            return ChargeResult("succeeded", intent.id)
        if intent.status in _PENDING_INTENT:
            return ChargeResult("pending", intent.id)
        last = intent.last_payment_error
        return ChargeResult(
            "failed",
            intent.id,
            (last.decline_code or last.code) if last else intent.status,
            last.message if last else f"payment intent is {intent.status}",
        )

    def refund(self, request: RefundRequest) -> RefundResult:
        metadata = {"tollway_operation_id": request.operation_id}
        if request.reason:
            metadata["reason"] = request.reason
        params: RefundCreateParams = {
            "payment_intent": request.provider_payment_id,
            "metadata": metadata,
        }
        if request.amount is not None:
            params["amount"] = request.amount
        refund = self._call(
            lambda: self._client.v1.refunds.create(
                params=params,
                options={"idempotency_key": idempotency_key(request.operation_id, "refund")},
            )
        )
        return RefundResult(_REFUND_STATUS.get(refund.status or "", "failed"), refund.id)

    def cancel_charge(self, provider_payment_id: str) -> None:
        raise Unsupported(
            "the Stripe adapter charges cards only: no charge waits to be paid",
            provider=self.name,
        )

    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        params: SessionCreateParams = {
            "mode": "subscription",
            "line_items": [{"price": request.price_id, "quantity": 1}],
            "client_reference_id": request.client_reference_id,
            "success_url": request.success_url,
            "cancel_url": request.cancel_url,
            "metadata": dict(request.metadata),
            "subscription_data": {"metadata": dict(request.metadata)},
        }
        if request.customer_ref:
            params["customer"] = request.customer_ref
        elif request.customer_email:
            params["customer_email"] = request.customer_email
        session = self._call(
            lambda: self._client.v1.checkout.sessions.create(
                params=params,
                options={"idempotency_key": idempotency_key(request.operation_id, "checkout")},
            )
        )
        if session.url is None:
            raise ProviderRequestFailed(self.name, "checkout session has no url")
        return CheckoutSession(session.url, session.id)

    def create_portal_session(self, request: PortalRequest) -> str:
        session = self._call(
            lambda: self._client.v1.billing_portal.sessions.create(
                params={"customer": request.customer_ref, "return_url": request.return_url},
                options={"idempotency_key": idempotency_key(request.operation_id, "portal")},
            )
        )
        return session.url

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        self._verify(header(headers, SIGNATURE_HEADER), body, now)
        try:
            event = json.loads(body)
            data = event["data"]["object"]
            if not isinstance(event["id"], str) or not isinstance(event["type"], str):
                raise TypeError("id and type must be strings")
            if not isinstance(data, dict):
                raise TypeError("data.object must be an object")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise WebhookRejected("not a Stripe event") from exc
        return ProviderEvent(self.name, event["id"], event["type"], data)

    def _verify(self, signature: str | None, body: bytes, now: datetime) -> None:
        if not self._webhook_secret:
            raise InvalidSignature("no Stripe webhook secret is configured")
        if not signature:
            raise InvalidSignature("missing Stripe-Signature header")
        if len(signature) > _MAX_SIGNATURE_HEADER or not signature.isascii():
            raise InvalidSignature("malformed Stripe-Signature header")
        timestamps: list[str] = []
        candidates: list[bytes] = []
        for item in signature.split(","):
            key, _, value = item.strip().partition("=")
            if key == "t":
                timestamps.append(value)
            elif key == "v1":
                candidates.append(value.encode("ascii"))
        if len(timestamps) != 1 or not _TIMESTAMP.fullmatch(timestamps[0]) or not candidates:
            raise InvalidSignature("malformed Stripe-Signature header")
        timestamp = int(timestamps[0])
        signed = f"{timestamp}.".encode() + body
        expected = hmac.new(self._webhook_secret.encode(), signed, hashlib.sha256).hexdigest()
        if not any(hmac.compare_digest(expected.encode("ascii"), c) for c in candidates):
            raise InvalidSignature("no signature matches the payload")
        if abs(now.timestamp() - timestamp) > self._tolerance:
            raise InvalidSignature("signature timestamp is outside the tolerance")

    def _call(self, call: Callable[[], T], *, declines: bool = True) -> T:
        """Run an SDK call, turning Stripe's errors into provider errors (card errors
        pass through untouched when ``declines`` is false: the caller reads them)."""
        try:
            return call()
        except stripe.CardError as exc:
            if not declines:
                raise
            raise PaymentDeclined(self.name, exc.user_message or "declined", code=exc.code) from exc
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            raise ProviderUnavailable(self.name, exc.user_message or str(exc)) from exc
        except stripe.StripeError as exc:
            raise ProviderRequestFailed(
                self.name, exc.user_message or str(exc), code=exc.code
            ) from exc


def _payment_method(method: stripe.PaymentMethod) -> PaymentMethod:
    card = method.card
    if card is None:
        return PaymentMethod(method.id, method.type, None, None, None)
    return PaymentMethod(method.id, card.brand, card.last4, card.exp_month, card.exp_year)

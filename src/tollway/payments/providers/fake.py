"""An in-process provider for tests and demos: deterministic, no network.

Test tokens (attach them with :meth:`FakeProvider.attach_payment_method`):

- ``tok_visa``, ``tok_mastercard``: charges succeed.
- ``tok_chargeDeclined``: attaches, every charge fails with ``card_declined``.
- ``tok_insufficientFunds``: attaches, every charge fails with ``insufficient_funds``.
- ``tok_fail_<n>_then_succeed``: the first ``n`` charges decline, the next succeed.
- ``tok_attachDeclined``: refused when attached (:class:`PaymentDeclined`).

Attaching, charges and refunds are idempotent by ``operation_id``, as at a real
provider: the same operation replays its first result. Boleto and PIX charges are ``pending``
with instructions. Every call is recorded in :attr:`FakeProvider.calls`. Inbound
webhooks are signed with HMAC-SHA256 of the body in ``fake-signature``;
:meth:`FakeProvider.sign_event` makes one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tollway.payments.providers.base import (
    BoletoInstructions,
    ChargeRequest,
    ChargeResult,
    CheckoutRequest,
    CheckoutSession,
    InvalidSignature,
    NewCustomer,
    PaymentDeclined,
    PaymentMethod,
    PixInstructions,
    PortalRequest,
    ProviderEvent,
    ProviderRequestFailed,
    RefundRequest,
    RefundResult,
    WebhookRejected,
    header,
)

SIGNATURE_HEADER = "fake-signature"
WEBHOOK_SECRET = "whsec_fake"  # noqa: S105 (a published test secret, like the tokens)
ATTACH_DECLINED = "tok_attachDeclined"
_CARDS = {
    "tok_visa": ("visa", "4242", None),
    "tok_mastercard": ("mastercard", "4444", None),
    "tok_chargeDeclined": ("visa", "0002", "card_declined"),
    "tok_insufficientFunds": ("visa", "9995", "insufficient_funds"),
}
_FAIL_THEN_SUCCEED = re.compile(r"tok_fail_(\d+)_then_succeed")
_EXPIRY = (12, 2034)
_PAGES = "https://fake.tollway.invalid"


@dataclass(frozen=True)
class FakeCall:
    """One recorded call: the method name and what it was given."""

    method: str
    argument: Any


@dataclass
class _Card:
    customer_ref: str
    method: PaymentMethod
    decline_code: str | None
    declines_left: int | None
    """``None``: the card always behaves the same; else declines before succeeding."""
    attached: bool = True


class FakeProvider:
    """The in-process provider (``TOLLWAY_PAYMENT_PROVIDER=fake``)."""

    name = "fake"

    def __init__(self, webhook_secret: str = WEBHOOK_SECRET) -> None:
        self.webhook_secret = webhook_secret
        self.calls: list[FakeCall] = []
        self._lock = threading.Lock()
        self._counter = 0
        self._customers: dict[str, str] = {}
        self._cards: dict[str, _Card] = {}
        self._attached: dict[str, PaymentMethod] = {}
        self._charges: dict[str, ChargeResult] = {}
        self._paid: dict[str, int] = {}
        self._refunds: dict[str, RefundResult] = {}
        self.canceled: set[str] = set()
        """Pending charges canceled (:meth:`cancel_charge`), by payment id."""

    def create_customer(self, customer: NewCustomer) -> str:
        with self._lock:
            self.calls.append(FakeCall("create_customer", customer))
            if customer.operation_id not in self._customers:
                self._customers[customer.operation_id] = self._next("cus")
            return self._customers[customer.operation_id]

    def attach_payment_method(
        self, *, operation_id: str, customer_ref: str, token: str
    ) -> PaymentMethod:
        with self._lock:
            self.calls.append(FakeCall("attach_payment_method", (customer_ref, token)))
            if customer_ref not in self._customers.values():
                raise ProviderRequestFailed(self.name, f"no such customer {customer_ref!r}")
            if operation_id not in self._attached:
                card = self._card_for(customer_ref, token)
                self._cards[card.method.reference] = card
                self._attached[operation_id] = card.method
            return self._attached[operation_id]

    def list_payment_methods(self, customer_ref: str) -> list[PaymentMethod]:
        with self._lock:
            self.calls.append(FakeCall("list_payment_methods", customer_ref))
            return [
                card.method
                for card in self._cards.values()
                if card.customer_ref == customer_ref and card.attached
            ]

    def detach_payment_method(self, payment_method_ref: str) -> None:
        with self._lock:
            self.calls.append(FakeCall("detach_payment_method", payment_method_ref))
            card = self._cards.get(payment_method_ref)
            if card is not None:  # an unknown card is detached already, as at Stripe
                card.attached = False

    def charge(self, request: ChargeRequest) -> ChargeResult:
        with self._lock:
            self.calls.append(FakeCall("charge", request))
            if request.operation_id not in self._charges:
                self._charges[request.operation_id] = self._charge(request)
            return self._charges[request.operation_id]

    def refund(self, request: RefundRequest) -> RefundResult:
        with self._lock:
            self.calls.append(FakeCall("refund", request))
            if request.operation_id in self._refunds:
                return self._refunds[request.operation_id]
            paid = self._paid.get(request.provider_payment_id)
            if paid is None:
                raise ProviderRequestFailed(
                    self.name, f"no such payment {request.provider_payment_id!r}"
                )
            amount = paid if request.amount is None else request.amount
            if not 0 < amount <= paid:
                raise ProviderRequestFailed(self.name, f"cannot refund {amount} of {paid}")
            self._paid[request.provider_payment_id] = paid - amount
            result = RefundResult("succeeded", self._next("re"))
            self._refunds[request.operation_id] = result
            return result

    def cancel_charge(self, provider_payment_id: str) -> None:
        with self._lock:
            self.calls.append(FakeCall("cancel_charge", provider_payment_id))
            pending = {
                r.provider_payment_id for r in self._charges.values() if r.status == "pending"
            }
            if provider_payment_id not in pending:
                raise ProviderRequestFailed(
                    self.name, f"no pending payment {provider_payment_id!r} to cancel"
                )
            self.canceled.add(provider_payment_id)

    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        with self._lock:
            self.calls.append(FakeCall("create_checkout_session", request))
            session_id = self._next("cs")
            return CheckoutSession(f"{_PAGES}/checkout/{session_id}", session_id)

    def create_portal_session(self, request: PortalRequest) -> str:
        with self._lock:
            self.calls.append(FakeCall("create_portal_session", request))
            return f"{_PAGES}/portal/{self._next('bps')}"

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        given = header(headers, SIGNATURE_HEADER)
        if given is None or not hmac.compare_digest(given, self._sign(body)):
            raise InvalidSignature("bad or missing fake-signature")
        try:
            event = json.loads(body)
            return ProviderEvent(self.name, str(event["id"]), str(event["type"]), event["data"])
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("not a fake provider event") from exc

    def sign_event(
        self, event_id: str, event_type: str, data: Mapping[str, Any]
    ) -> tuple[dict[str, str], bytes]:
        """Headers and body of a webhook delivery this provider accepts."""
        body = json.dumps({"id": event_id, "type": event_type, "data": dict(data)}).encode()
        return {SIGNATURE_HEADER: self._sign(body)}, body

    def _sign(self, body: bytes) -> str:
        return hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()

    def _next(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}_fake_{self._counter:06d}"

    def _card_for(self, customer_ref: str, token: str) -> _Card:
        declines_left: int | None = None
        if token in _CARDS:
            brand, last4, decline_code = _CARDS[token]
        elif match := _FAIL_THEN_SUCCEED.fullmatch(token):
            brand, last4, decline_code = "visa", "0341", "card_declined"
            declines_left = int(match.group(1))
        elif token == ATTACH_DECLINED:
            raise PaymentDeclined(self.name, "your card was declined", code="card_declined")
        else:
            raise ProviderRequestFailed(self.name, f"no such token {token!r}")
        method = PaymentMethod(self._next("pm"), brand, last4, *_EXPIRY)
        return _Card(customer_ref, method, decline_code, declines_left)

    def _charge(self, request: ChargeRequest) -> ChargeResult:
        payment_id = self._next("pay")
        if request.method == "pix":
            pix = PixInstructions(f"00020101021226fake{payment_id}", None, None)
            return ChargeResult("pending", payment_id, instructions=pix)
        if request.method == "boleto":
            line = f"23793.38128 60000.{self._counter:06d} 00000.000000 1 {request.amount:014d}"
            boleto = BoletoInstructions(line, None, f"{self._counter:08d}", None)
            return ChargeResult("pending", payment_id, instructions=boleto)
        card = self._cards.get(request.payment_method_ref or "")
        if card is None or not card.attached or card.customer_ref != request.customer_ref:
            raise ProviderRequestFailed(
                self.name, f"no such card {request.payment_method_ref!r} for the customer"
            )
        if card.declines_left is None:
            declines = card.decline_code is not None
        else:
            declines = card.declines_left > 0
            card.declines_left = max(card.declines_left - 1, 0)
        if declines:
            return ChargeResult("failed", payment_id, card.decline_code, "your card was declined")
        self._paid[payment_id] = request.amount
        return ChargeResult("succeeded", payment_id)

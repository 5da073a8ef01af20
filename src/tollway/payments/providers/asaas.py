"""Asaas (Brazil) through a thin httpx client on its REST API v3.

Every request carries the ``access_token`` and ``User-Agent`` headers and goes to
the sandbox (``https://api-sandbox.asaas.com/v3``) or production
(``https://api.asaas.com/v3``) base URL, or to an override (a local fake in tests).
Amounts travel as decimal reais (``"value": 49.90``), converted exactly from minor
units; no float is involved in either direction.

Asaas has no idempotency keys, so creations carry Tollway's id as
``externalReference`` and are looked up by it first: retrying a charge or a customer
creation finds the first one instead of making a second. Connection failures are
retried by the transport (the request was never sent); timeouts, 429 and 5xx raise
:class:`ProviderUnavailable`.

Charges: ``CREDIT_CARD`` with a ``creditCardToken`` (a decline, HTTP 400
``invalid_creditCard``, is a failed result), ``BOLETO`` (pending, with the typeable
line from ``/payments/{id}/identificationField``) and ``PIX`` (pending, with the
copy-and-paste payload and QR image from ``/payments/{id}/pixQrCode``).

Card tokens are never made here (tokenizing needs the card number, which Tollway
never sees): a token comes from a card payment made on the Asaas invoice page
(``payment.creditCard.creditCardToken`` in the webhook). Asaas cannot list or
delete tokens, and has no hosted checkout for price ids or customer portal.

Inbound webhooks carry the shared token configured at Asaas in the
``asaas-access-token`` header, compared in constant time.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

import httpx

from tollway import __version__
from tollway.kernel.money import to_major
from tollway.payments.providers.base import (
    BoletoInstructions,
    ChargeRequest,
    ChargeResult,
    ChargeStatus,
    CheckoutRequest,
    CheckoutSession,
    InvalidToken,
    NewCustomer,
    PaymentMethod,
    PixInstructions,
    PortalRequest,
    ProviderEvent,
    ProviderRequestFailed,
    ProviderUnavailable,
    RefundRequest,
    RefundResult,
    Unsupported,
    WebhookRejected,
    header,
)

SANDBOX_URL = "https://api-sandbox.asaas.com/v3"
PRODUCTION_URL = "https://api.asaas.com/v3"
TOKEN_HEADER = "asaas-access-token"  # noqa: S105 (a header name)
CURRENCY = "BRL"
LOCAL_TIME = ZoneInfo("America/Sao_Paulo")
"""Asaas writes dates and times in Brasília time, without an offset."""
_BILLING_TYPES = {"card": "CREDIT_CARD", "boleto": "BOLETO", "pix": "PIX"}
_PAID = {"CONFIRMED", "RECEIVED", "RECEIVED_IN_CASH"}
_OPEN = {"PENDING", "AWAITING_RISK_ANALYSIS", "OVERDUE"}
_DECLINE_CODE = "invalid_creditCard"

Cycle = Literal["WEEKLY", "BIWEEKLY", "MONTHLY", "BIMONTHLY", "QUARTERLY", "SEMIANNUALLY", "YEARLY"]


def base_url_for(environment: Literal["sandbox", "production"]) -> str:
    """The Asaas API base URL of ``environment``."""
    return PRODUCTION_URL if environment == "production" else SANDBOX_URL


@dataclass(frozen=True)
class NewSubscription:
    """An Asaas subscription: Asaas then creates one payment per ``cycle`` itself."""

    operation_id: str
    customer_ref: str
    amount: int
    """Minor units (centavos)."""
    cycle: Cycle
    next_due_date: date
    description: str
    method: Literal["card", "boleto", "pix"] = "boleto"
    payment_method_ref: str | None = None


class AsaasProvider:
    """Asaas (``provider=asaas``)."""

    name = "asaas"

    def __init__(
        self,
        *,
        api_key: str,
        webhook_token: str | None,
        base_url: str = SANDBOX_URL,
        timeout_seconds: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._webhook_token = webhook_token
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={
                "access_token": api_key,
                "User-Agent": f"Tollway/{__version__}",
                "Accept": "application/json",
            },
            timeout=timeout_seconds,
            transport=transport or httpx.HTTPTransport(retries=2),
            follow_redirects=False,
        )

    def close(self) -> None:
        self._http.close()

    def create_customer(self, customer: NewCustomer) -> str:
        found = self._find("customers", customer.operation_id)
        if found is not None:
            return str(found["id"])
        body: dict[str, Any] = {
            "name": customer.name,
            "externalReference": customer.operation_id,
        }
        if customer.tax_id:
            body["cpfCnpj"] = customer.tax_id
        if customer.email:
            body["email"] = customer.email
        return str(self._request("POST", "customers", body)["id"])

    def attach_payment_method(
        self, *, operation_id: str, customer_ref: str, token: str
    ) -> PaymentMethod:
        """Keep a ``creditCardToken`` of this customer; Asaas has no lookup for tokens,
        so brand and last four come from the payment that made the token."""
        return PaymentMethod(token, None, None, None, None)

    def list_payment_methods(self, customer_ref: str) -> list[PaymentMethod]:
        raise Unsupported("Asaas cannot list stored cards", provider=self.name)

    def detach_payment_method(self, payment_method_ref: str) -> None:
        """Asaas tokens cannot be deleted; forgetting the token is all there is to do."""

    def charge(self, request: ChargeRequest) -> ChargeResult:
        _require_brl(request.currency)
        payment = self._find("payments", request.operation_id)
        if payment is None:
            body: dict[str, Any] = {
                "customer": request.customer_ref,
                "billingType": _BILLING_TYPES[request.method],
                "value": to_major(request.amount, CURRENCY),
                "dueDate": request.due_date.isoformat(),
                "description": request.description,
                "externalReference": request.operation_id,
            }
            if request.method == "card":
                if request.payment_method_ref is None:
                    raise ProviderRequestFailed(self.name, "card charges need a creditCardToken")
                body["creditCardToken"] = request.payment_method_ref
                if request.customer_ip:
                    body["remoteIp"] = request.customer_ip
            try:
                payment = self._request("POST", "payments", body)
            except ProviderRequestFailed as exc:
                if request.method == "card" and exc.code == _DECLINE_CODE:
                    return ChargeResult("failed", None, exc.code, exc.message)
                raise
        return self._result(payment)

    def refund(self, request: RefundRequest) -> RefundResult:
        """Refunds Asaas accepts are ``pending`` until the payment is ``REFUNDED`` (the
        ``PAYMENT_REFUNDED`` or ``PAYMENT_PARTIALLY_REFUNDED`` webhook)."""
        _require_brl(request.currency)
        body: dict[str, Any] = {}
        if request.amount is not None:
            body["value"] = to_major(request.amount, CURRENCY)
        if request.reason:
            body["description"] = request.reason
        payment = self._request("POST", f"payments/{request.provider_payment_id}/refund", body)
        if payment.get("status") == "REFUNDED":
            return RefundResult("succeeded", None)
        return RefundResult("pending", None)

    def cancel_charge(self, provider_payment_id: str) -> None:
        """``DELETE /payments/{id}``: a pending boleto or PIX can no longer be paid."""
        self._request("DELETE", f"payments/{provider_payment_id}")

    def create_subscription(self, subscription: NewSubscription) -> str:
        """Create an Asaas subscription (found again by ``operation_id`` on retry)."""
        found = self._find("subscriptions", subscription.operation_id)
        if found is not None:
            return str(found["id"])
        body: dict[str, Any] = {
            "customer": subscription.customer_ref,
            "billingType": _BILLING_TYPES[subscription.method],
            "value": to_major(subscription.amount, CURRENCY),
            "nextDueDate": subscription.next_due_date.isoformat(),
            "cycle": subscription.cycle,
            "description": subscription.description,
            "externalReference": subscription.operation_id,
        }
        if subscription.payment_method_ref:
            body["creditCardToken"] = subscription.payment_method_ref
        return str(self._request("POST", "subscriptions", body)["id"])

    def create_checkout_session(self, request: CheckoutRequest) -> CheckoutSession:
        raise Unsupported(
            "Asaas has no hosted checkout for price ids; charge with BOLETO or PIX",
            provider=self.name,
        )

    def create_portal_session(self, request: PortalRequest) -> str:
        raise Unsupported("Asaas has no customer portal", provider=self.name)

    def parse_webhook(
        self, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> ProviderEvent:
        given = header(headers, TOKEN_HEADER)
        if not self._webhook_token or given is None:
            raise InvalidToken("missing asaas-access-token")
        if not hmac.compare_digest(given.encode(), self._webhook_token.encode()):
            raise InvalidToken("wrong asaas-access-token")
        try:
            event = json.loads(body, parse_float=Decimal)
            if not isinstance(event["id"], str) or not isinstance(event["event"], str):
                raise TypeError("id and event must be strings")
        except (ValueError, KeyError, TypeError) as exc:
            raise WebhookRejected("not an Asaas event") from exc
        entity = next((value for value in event.values() if isinstance(value, dict)), {})
        return ProviderEvent(self.name, event["id"], event["event"], entity)

    def _result(self, payment: Mapping[str, Any]) -> ChargeResult:
        payment_id = str(payment["id"])
        status = str(payment.get("status"))
        outcome: ChargeStatus = (
            "succeeded" if status in _PAID else "pending" if status in _OPEN else "failed"
        )
        if outcome != "pending":
            failure = None if outcome == "succeeded" else status.lower()
            return ChargeResult(outcome, payment_id, failure, None)
        if payment.get("billingType") == "PIX":
            pix = self._request("GET", f"payments/{payment_id}/pixQrCode")
            instructions: PixInstructions | BoletoInstructions | None = PixInstructions(
                str(pix["payload"]), pix.get("encodedImage"), _local_time(pix.get("expirationDate"))
            )
        elif payment.get("billingType") == "BOLETO":
            line = self._request("GET", f"payments/{payment_id}/identificationField")
            instructions = BoletoInstructions(
                str(line["identificationField"]),
                line.get("barCode"),
                line.get("nossoNumero"),
                payment.get("bankSlipUrl"),
            )
        else:
            instructions = None
        return ChargeResult("pending", payment_id, instructions=instructions)

    def _find(self, collection: str, reference: str) -> dict[str, Any] | None:
        """The first ``collection`` item whose ``externalReference`` is ``reference``."""
        found = self._request(
            "GET", collection, params={"externalReference": reference, "limit": "1"}
        )
        items = found.get("data") or []
        return dict(items[0]) if items else None

    def _request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        content = None if body is None else _json(body).encode()
        headers = {"Content-Type": "application/json"} if content is not None else {}
        try:
            response = self._http.request(
                method, path, content=content, params=params, headers=headers
            )
        except httpx.HTTPError as exc:
            raise ProviderUnavailable(self.name, f"{method} {path}: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailable(self.name, f"{method} {path}: HTTP {response.status_code}")
        try:
            answer = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        if response.status_code >= 400:
            errors = answer.get("errors") or [{}]
            first = errors[0] if isinstance(errors[0], dict) else {}
            raise ProviderRequestFailed(
                self.name,
                str(first.get("description") or f"{method} {path}: HTTP {response.status_code}"),
                code=first.get("code"),
            )
        return answer


def _require_brl(currency: str) -> None:
    if currency.upper() != CURRENCY:
        raise Unsupported(f"Asaas charges only {CURRENCY}, not {currency}", provider="asaas")


def _json(value: Any) -> str:
    """JSON with :class:`~decimal.Decimal` written as an exact number (``49.90``)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(value)


def _local_time(value: Any) -> datetime | None:
    """An Asaas ``YYYY-MM-DD HH:MM:SS`` (Brasília time) as an aware UTC datetime."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=LOCAL_TIME)
    return parsed.astimezone(UTC)

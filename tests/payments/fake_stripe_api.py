"""A local stand-in for the Stripe API: form-encoded requests in, JSON objects out,
shaped like the objects of Stripe's published OpenAPI fixtures (``customer``,
``payment_method``, ``payment_intent``, ``refund``, ``checkout.session``,
``billing_portal.session``, ``list`` and ``error``). POSTs replay their first answer
for a repeated ``Idempotency-Key``, as Stripe does."""

from __future__ import annotations

import itertools
import re
from typing import Any

from local_api import Answer, LocalApi, Request

API_KEY = "sk_test_tollway"
CREATED = 1768478400  # 2026-01-15T12:00:00Z
CARDS = {
    "tok_visa": ("visa", "4242", None),
    "tok_mastercard": ("mastercard", "4444", None),
    "tok_chargeDeclined": ("visa", "0002", "generic_decline"),
    "tok_chargeDeclinedInsufficientFunds": ("visa", "9995", "insufficient_funds"),
    "tok_processing": ("visa", "1111", None),
    "tok_requiresPaymentMethod": ("visa", "0119", "do_not_honor"),
}
"""Tokens: brand, last4, and the decline code of charges (``None``: they succeed)."""


def _error(status: int, type: str, message: str, **extra: Any) -> Answer:
    return status, {"error": {"type": type, "message": message, **extra}}


class StripeApi(LocalApi):
    failure: Answer = _error(500, "api_error", "An unknown error occurred")

    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)
        self.customers: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.sessions: dict[str, dict[str, Any]] = {}
        self.replays: dict[str, Answer] = {}
        self.token_of: dict[str, str] = {}

    def new_id(self, prefix: str) -> str:
        return f"{prefix}_test_{next(self.ids):06d}"

    def handle(self, request: Request) -> Answer:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return _error(401, "invalid_request_error", "Invalid API Key provided: sk_***")
        key = request.headers.get("idempotency-key")
        if request.method == "POST" and key in self.replays:
            return self.replays[key]
        answer = self.route(request)
        if request.method == "POST" and key:
            self.replays[key] = answer
        return answer

    def route(self, request: Request) -> Answer:
        path, form = request.path, request.form
        posts = {
            "/v1/customers": lambda: self.create_customer(form),
            "/v1/payment_methods": lambda: self.create_payment_method(form["card[token]"]),
            "/v1/payment_intents": lambda: self.create_payment_intent(form),
            "/v1/refunds": lambda: self.create_refund(form),
            "/v1/checkout/sessions": lambda: self.create_checkout_session(form),
            "/v1/billing_portal/sessions": lambda: self.create_portal_session(form),
        }
        if request.method == "POST" and path in posts:
            return posts[path]()
        if match := re.fullmatch(r"/v1/payment_methods/([^/]+)/(attach|detach)", path):
            return self.attach(match[1], form.get("customer") if match[2] == "attach" else None)
        if match := re.fullmatch(r"/v1/customers/([^/]+)/payment_methods", path):
            return self.list_payment_methods(match[1])
        return _error(404, "invalid_request_error", f"Unrecognized request URL ({path})")

    def create_customer(self, form: dict[str, str]) -> Answer:
        customer = {
            "id": self.new_id("cus"),
            "object": "customer",
            "created": CREATED,
            "email": form.get("email"),
            "name": form.get("name"),
            "livemode": False,
            "metadata": _nested(form, "metadata"),
            "invoice_settings": {"default_payment_method": None},
        }
        self.customers[customer["id"]] = customer
        return 200, customer

    def create_payment_method(self, token: str) -> Answer:
        if token not in CARDS:
            return _error(
                400, "invalid_request_error", f"No such token: '{token}'", code="resource_missing"
            )
        brand, last4, _ = CARDS[token]
        method = {
            "id": self.new_id("pm"),
            "object": "payment_method",
            "type": "card",
            "created": CREATED,
            "customer": None,
            "livemode": False,
            "metadata": {},
            "billing_details": {"address": None, "email": None, "name": None, "phone": None},
            "card": {
                "brand": brand,
                "last4": last4,
                "exp_month": 8,
                "exp_year": 2030,
                "funding": "credit",
                "country": "US",
                "fingerprint": f"fp{last4}",
            },
        }
        self.payment_methods[method["id"]] = method
        self.token_of[method["id"]] = token
        return 200, method

    def attach(self, method_id: str, customer: str | None) -> Answer:
        method = self.payment_methods.get(method_id)
        if method is None:
            return _missing("payment_method", method_id)
        if customer is not None and customer not in self.customers:
            return _missing("customer", customer)
        method["customer"] = customer
        return 200, method

    def list_payment_methods(self, customer: str) -> Answer:
        data = [m for m in self.payment_methods.values() if m["customer"] == customer]
        url = f"/v1/customers/{customer}/payment_methods"
        return 200, {"object": "list", "data": data, "has_more": False, "url": url}

    def create_payment_intent(self, form: dict[str, str]) -> Answer:
        method = self.payment_methods.get(form["payment_method"])
        if method is None or method["customer"] != form["customer"]:
            return _missing("payment_method", form["payment_method"])
        token = self.token_of[method["id"]]
        decline = CARDS[token][2]
        intent: dict[str, Any] = {
            "id": self.new_id("pi"),
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_received": 0,
            "currency": form["currency"],
            "customer": form["customer"],
            "payment_method": method["id"],
            "description": form.get("description"),
            "metadata": _nested(form, "metadata"),
            "confirmation_method": "automatic",
            "capture_method": "automatic",
            "created": CREATED,
            "livemode": False,
            "last_payment_error": None,
            "latest_charge": None,
            "status": "succeeded",
        }
        self.payment_intents[intent["id"]] = intent
        if token == "tok_processing":
            intent["status"] = "processing"
            return 200, intent
        if decline is None:
            intent["amount_received"] = intent["amount"]
            intent["latest_charge"] = self.new_id("ch")
            return 200, intent
        error = {
            "type": "card_error",
            "code": "card_declined",
            "decline_code": decline,
            "message": "Your card was declined.",
            "doc_url": "https://stripe.com/docs/error-codes/card-declined",
            "charge": self.new_id("ch"),
            "payment_method": method,
        }
        intent["status"] = "requires_payment_method"
        intent["last_payment_error"] = error
        if token == "tok_requiresPaymentMethod":
            return 200, intent
        return 402, {"error": {**error, "payment_intent": intent}}

    def create_refund(self, form: dict[str, str]) -> Answer:
        intent = self.payment_intents.get(form["payment_intent"])
        if intent is None:
            return _missing("payment_intent", form["payment_intent"])
        refund = {
            "id": self.new_id("re"),
            "object": "refund",
            "amount": int(form.get("amount", intent["amount"])),
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "charge": intent["latest_charge"],
            "created": CREATED,
            "metadata": _nested(form, "metadata"),
            "reason": None,
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, refund

    def create_checkout_session(self, form: dict[str, str]) -> Answer:
        session_id = self.new_id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": form["mode"],
            "client_reference_id": form.get("client_reference_id"),
            "customer": form.get("customer"),
            "customer_email": form.get("customer_email"),
            "success_url": form["success_url"],
            "cancel_url": form["cancel_url"],
            "metadata": _nested(form, "metadata"),
            "payment_status": "unpaid",
            "status": "open",
            "subscription": None,
            "created": CREATED,
            "expires_at": CREATED + 86400,
            "livemode": False,
            "url": f"https://checkout.stripe.com/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        return 200, session

    def create_portal_session(self, form: dict[str, str]) -> Answer:
        if form["customer"] not in self.customers:
            return _missing("customer", form["customer"])
        session_id = self.new_id("bps")
        return 200, {
            "id": session_id,
            "object": "billing_portal.session",
            "customer": form["customer"],
            "return_url": form["return_url"],
            "configuration": "bpc_test_1",
            "created": CREATED,
            "livemode": False,
            "locale": None,
            "on_behalf_of": None,
            "url": f"https://billing.stripe.com/p/session/{session_id}",
        }


def _missing(kind: str, ident: str) -> Answer:
    return _error(
        404,
        "invalid_request_error",
        f"No such {kind}: '{ident}'",
        code="resource_missing",
        param=kind,
    )


def _nested(form: dict[str, str], name: str) -> dict[str, str]:
    prefix = f"{name}["
    return {k[len(prefix) : -1]: v for k, v in form.items() if k.startswith(prefix)}

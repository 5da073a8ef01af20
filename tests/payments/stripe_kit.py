"""Signed Stripe deliveries and Stripe-shaped objects for the webhook tests.

Objects follow the API version of the installed SDK (2025-03-31 and later: an
invoice's subscription is ``parent.subscription_details.subscription``, its payments
are ``payments``); ``legacy=True`` builds the shape of earlier versions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from fake_stripe_api import API_KEY, StripeApi
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from tollway.kernel.settings import Settings
from tollway.payments.models import ProviderAccount

START = datetime(2026, 1, 15, 12, tzinfo=UTC)  # the conftest clock
FEB_15 = datetime(2026, 2, 15, 12, tzinfo=UTC)  # the end of acme's first month
SECRET = "whsec_tollway_routes"
PRICE = "price_pro_monthly"
WEBHOOK = "/v1/providers/stripe/webhook"


def stripe_settings(settings: Settings, api: StripeApi) -> Settings:
    return settings.model_copy(
        update={
            "stripe_secret_key": SecretStr(API_KEY),
            "stripe_webhook_secret": SecretStr(SECRET),
            "stripe_api_base": api.base_url,
        }
    )


def setup_acme(client: TestClient) -> TestClient:
    """Plan ``pro`` (29.99 USD a month, Stripe price ``PRICE``) and customer ``acme``
    on a test clock at ``START``."""
    plan = {
        "code": "pro",
        "name": "Pro",
        "prices": [{"interval": "monthly", "amount": 2999, "stripe_price_id": PRICE}],
    }
    assert client.post("/v1/plans", json=plan).status_code == 201
    at = START.isoformat()
    clock = client.post("/v1/test-clocks", json={"frozen_time": at, "name": "s"}).json()
    body = {"external_id": "acme", "test_clock": clock["id"]}
    assert client.post("/v1/customers", json=body).status_code == 201
    client.headers["x-test-clock"] = clock["id"]  # remembered for advance; ignored by the API
    return client


def deliver(
    client: TestClient,
    event_id: str,
    event_type: str,
    data: Any,
    *,
    secret: str = SECRET,
    age: timedelta = timedelta(0),
    tamper: bool = False,
) -> Any:
    body = json.dumps({"id": event_id, "type": event_type, "data": {"object": data}})
    header = stripe.WebhookSignature.generate_signature_header(
        body, secret, timestamp=int((START - age).timestamp())
    )
    sent = body.replace("2999", "1") if tamper else body
    return client.post(WEBHOOK, content=sent, headers={"Stripe-Signature": header})


def checkout(client: TestClient) -> dict[str, Any]:
    body = {
        "customer_id": "acme",
        "plan_id": "pro",
        "billing_cycle": "monthly",
        "success_url": "https://app.test/ok",
        "cancel_url": "https://app.test/cancel",
    }
    response = client.post("/v1/checkout-sessions", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def completed_session(client: TestClient, subscription: str) -> dict[str, Any]:
    """The ``checkout.session.completed`` object of acme's checkout of ``pro``."""
    return {
        "id": f"cs_{subscription}",
        "object": "checkout.session",
        "customer": stripe_customer(client),
        "subscription": subscription,
        "client_reference_id": client.get("/v1/customers/acme").json()["id"],
        "metadata": {"tollway_plan_id": "pro", "tollway_billing_cycle": "monthly"},
    }


def stripe_invoice(
    client: TestClient,
    invoice_id: str,
    subscription: str,
    *,
    amount_paid: int | None = 2999,
    currency: str = "usd",
    period: tuple[datetime, datetime] = (START, FEB_15),
    legacy: bool = False,
    **fields: Any,
) -> dict[str, Any]:
    """A Stripe invoice of ``subscription`` billing ``period``."""
    start, end = (int(at.timestamp()) for at in period)
    line = {"id": f"il_{invoice_id}", "amount": 2999, "period": {"start": start, "end": end}}
    invoice: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "customer": stripe_customer(client),
        "currency": currency,
        "amount_due": 2999,
        "amount_paid": amount_paid,
        "period_start": start - 2_678_400,  # Stripe's own: the previous month
        "period_end": start,
        "lines": {"object": "list", "data": [line]},
        "metadata": {},
    }
    if legacy:
        invoice |= {"subscription": subscription, "payment_intent": f"pi_{invoice_id}"}
    else:
        invoice["parent"] = {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription, "metadata": {}},
        }
    return invoice | fields


def advance(client: TestClient, minutes: int) -> None:
    clock_id = client.headers["x-test-clock"]
    to = (START + timedelta(minutes=minutes)).isoformat()
    assert client.post(f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": to}).is_success


def event_types(client: TestClient, prefix: str) -> list[str]:
    data = client.get("/v1/events", params={"limit": 100}).json()["data"]
    return [e["type"] for e in reversed(data) if e["type"].startswith(prefix)]


def stripe_customer(client: TestClient) -> str:
    """The Stripe customer Tollway created for acme (the first checkout made it)."""
    state = client.app.state.tollway  # type: ignore[attr-defined]
    with state.session_factory() as session:
        reference = session.scalar(select(ProviderAccount.reference))
    assert isinstance(reference, str)
    return reference

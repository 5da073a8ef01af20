"""In-app notifications from events: list, unread count, mark read, scope, debounce."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from notes import emit, notes, unread

from outbound_kit import MovableClock, settle
from tollway.kernel.context import Context
from tollway.notifications import NOTIFICATION_TYPES

WARNING_80 = {"metric": "api_calls", "threshold": 80, "used": 800, "limit": 1000}


def test_a_quota_warning_becomes_an_unread_in_app_notification(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock
) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    emit(ctx, "acme", "quota.warning", WARNING_80)
    assert notes(client, "acme") == []  # not relayed yet
    settle(app)
    [note] = notes(client, "acme")
    assert note["type"] == "quota_warning"
    assert note["customer_id"] == "acme"
    assert note["title"] == "api_calls usage at 80%"
    assert note["message"] == (
        "You have used 800 of your 1000 api_calls this period (80% of the limit)."
    )
    assert note["data"] == WARNING_80
    assert note["read"] is False
    assert list(note["channels"]) == ["in_app"]  # no email address, no webhook, no Slack
    assert unread(client, "acme") == 1

    clock.advance(timedelta(minutes=3))
    read = client.post(f"/v1/notifications/{note['id']}/read").json()
    assert read["read"] is True
    assert read["read_at"] == clock.now().isoformat().replace("+00:00", "Z")
    again = client.post(f"/v1/notifications/{note['id']}/read").json()
    assert again["read_at"] == read["read_at"]
    assert unread(client, "acme") == 0
    assert notes(client, "acme", unread_only=True) == []
    assert len(notes(client, "acme")) == 1
    assert client.post("/v1/notifications/ntf_missing/read").status_code == 404


def test_customer_keys_see_only_their_own_notifications(
    client: TestClient, app: FastAPI, ctx: Context
) -> None:
    for external_id in ("alpha", "beta"):
        client.post("/v1/customers", json={"external_id": external_id})
        emit(ctx, external_id, "quota.exceeded", {"metric": "seats", "threshold": 100})
    settle(app)
    key = client.post("/v1/customers/alpha/keys", json={"name": "portal"}).json()["key"]
    alpha = {"Authorization": f"Bearer {key}"}
    [beta_note] = notes(client, "beta")

    own = client.get("/v1/customers/alpha/notifications", headers=alpha)
    assert [n["customer_id"] for n in own.json()["data"]] == ["alpha"]
    assert client.get("/v1/customers/beta/notifications", headers=alpha).status_code == 404
    assert (
        client.get("/v1/customers/beta/notifications/unread-count", headers=alpha).status_code
        == 404
    )
    assert (
        client.post(f"/v1/notifications/{beta_note['id']}/read", headers=alpha).status_code == 404
    )
    assert unread(client, "beta") == 1
    assert client.get("/v1/notifications", headers=alpha).status_code == 403
    own_id = own.json()["data"][0]["id"]
    assert client.post(f"/v1/notifications/{own_id}/read", headers=alpha).json()["read"] is True


DUNNING_CASE = {
    "invoice_id": "inv_1",
    "invoice_number": "INV-2026-0001",
    "amount": 4900,
    "currency": "USD",
}
SAMPLES: dict[str, tuple[dict[str, Any], str, str]] = {
    "quota.warning": (
        {"metric": "api_calls", "threshold": 90, "used": 900, "limit": 1000},
        "api_calls usage at 90%",
        "You have used 900 of your 1000 api_calls this period (90% of the limit).",
    ),
    "quota.exceeded": (
        {"metric": "api_calls", "threshold": 100, "used": 1000, "limit": 1000},
        "api_calls quota exceeded",
        "You have used 1000 of your 1000 api_calls this period: the limit is reached.",
    ),
    "grace_period.started": (
        {"metric": "storage_gb", "grace_ends": "2026-01-22T12:00:00Z"},
        "Grace period started",
        "You are over your storage_gb limit. The limit will be enforced from "
        "2026-01-22T12:00:00Z unless you upgrade.",
    ),
    "payment.failed": (
        {
            "amount": 4900,
            "currency": "USD",
            "invoice_number": "INV-2026-0001",
            "failure_message": "card declined",
        },
        "Payment failed",
        "We could not collect 49.00 USD for invoice INV-2026-0001. Reason: card declined. "
        "Please update your payment method.",
    ),
    "payment.succeeded": (
        {"amount": 4990, "currency": "BRL"},
        "Payment received",
        "We received your payment of 49.90 BRL. Thank you.",
    ),
    "subscription.trial_will_end": (
        {"subscription_id": "sub_1", "plan_id": "pro", "trial_end": "2026-01-29"},
        "Your trial ends soon",
        "Your trial of pro ends on 2026-01-29.",
    ),
    "subscription.expiring": (
        {"subscription_id": "sub_1", "plan_id": "pro", "current_period_end": "2026-02-15"},
        "Your subscription is expiring",
        "Your subscription to pro expires on 2026-02-15.",
    ),
    "invoice.finalized": (
        {
            "id": "in_1",
            "number": "INV-1",
            "total": 12345,
            "currency": "JPY",
            "due_date": "2026-02-01",
        },
        "Invoice INV-1 issued",
        "Invoice INV-1 for 12345 JPY is due on 2026-02-01.",
    ),
    "invoice.issued": (
        {"id": "in_2", "number": "INV-2", "total": 12345, "currency": "EUR"},
        "Invoice INV-2 issued",
        "Invoice INV-2 for 123.45 EUR is due now.",
    ),
    "webhook_endpoint.disabled": (
        {
            "id": "we_1",
            "url": "https://hooks.example.com/",
            "reason": "the endpoint answered 410 Gone",
        },
        "Webhook endpoint disabled",
        "The webhook endpoint https://hooks.example.com/ was disabled: "
        "the endpoint answered 410 Gone.",
    ),
    "dunning.started": (
        {
            **DUNNING_CASE,
            "next_action": "downgrade",
            "next_action_at": "2026-03-09T00:00:00Z",
        },
        "Payment overdue: invoice INV-2026-0001",
        "We could not collect 49.00 USD for invoice INV-2026-0001. Please pay it or update "
        "your payment method before 2026-03-09T00:00:00Z: then your service will move to "
        "the free plan.",
    ),
    "dunning.suspended": (
        {**DUNNING_CASE, "next_action": "cancel", "next_action_at": "2026-03-16T00:00:00Z"},
        "Service suspended: invoice INV-2026-0001 unpaid",
        "Invoice INV-2026-0001 for 49.00 USD is still unpaid, so your service is suspended. "
        "Paying it restores service at once; on 2026-03-16T00:00:00Z your subscription "
        "will be canceled.",
    ),
    "dunning.downgraded": (
        DUNNING_CASE,
        "Moved to the free plan: invoice INV-2026-0001 unpaid",
        "Invoice INV-2026-0001 for 49.00 USD is still unpaid, so your subscription was "
        "moved to the free plan.",
    ),
    "dunning.canceled": (
        DUNNING_CASE,
        "Subscription canceled: invoice INV-2026-0001 unpaid",
        "Invoice INV-2026-0001 for 49.00 USD is still unpaid, so your subscription was canceled.",
    ),
    "dunning.recovered": (
        {**DUNNING_CASE, "status": "voided", "suspension_lifted": True},
        "Invoice INV-2026-0001 voided",
        "Invoice INV-2026-0001 was voided. Your account is in good standing again and "
        "your service is restored.",
    ),
}


def test_every_mapped_event_has_a_sample() -> None:
    assert set(SAMPLES) == set(NOTIFICATION_TYPES)


@pytest.mark.parametrize("event_type", sorted(SAMPLES))
def test_each_event_type_becomes_its_notification(
    client: TestClient, app: FastAPI, ctx: Context, event_type: str
) -> None:
    data, title, message = SAMPLES[event_type]
    client.post("/v1/customers", json={"external_id": "acme"})
    emit(ctx, "acme", event_type, data)
    emit(ctx, "acme", "customer.updated", {"name": "not a notification"})
    settle(app)
    [note] = notes(client, "acme")
    assert note["type"] == NOTIFICATION_TYPES[event_type]
    assert (note["title"], note["message"]) == (title, message)


def test_quota_warnings_follow_the_customers_thresholds(
    client: TestClient, app: FastAPI, ctx: Context
) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    client.put("/v1/customers/acme/alert-preferences", json={"alert_thresholds": [90, 100]})
    for threshold in (80, 90):
        emit(ctx, "acme", "quota.warning", {**WARNING_80, "threshold": threshold})
    emit(ctx, "acme", "quota.exceeded", {**WARNING_80, "threshold": 100})
    settle(app)
    found = [(n["type"], n["data"]["threshold"]) for n in notes(client, "acme")]
    assert found == [("quota_exceeded", 100), ("quota_warning", 90)]


def test_without_a_period_the_same_type_and_subject_is_debounced_within_the_window(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock
) -> None:
    settings = client.patch(
        "/v1/product/settings", json={"notifications": {"debounce_seconds": 600}}
    )
    assert settings.json()["settings"]["notifications"]["debounce_seconds"] == 600
    client.post("/v1/customers", json={"external_id": "acme"})
    emit(ctx, "acme", "quota.warning", WARNING_80)
    emit(ctx, "acme", "quota.warning", WARNING_80)
    emit(ctx, "acme", "quota.warning", {**WARNING_80, "threshold": 90})
    settle(app)
    assert [n["data"]["threshold"] for n in notes(client, "acme")] == [90, 80]

    clock.advance(timedelta(seconds=599))
    emit(ctx, "acme", "quota.warning", WARNING_80)
    settle(app)
    assert len(notes(client, "acme")) == 2
    clock.advance(timedelta(seconds=2))
    emit(ctx, "acme", "quota.warning", WARNING_80)
    settle(app)
    assert [n["data"]["threshold"] for n in notes(client, "acme")] == [80, 90, 80]


def test_a_zero_window_does_not_debounce(client: TestClient, app: FastAPI, ctx: Context) -> None:
    client.patch("/v1/product/settings", json={"notifications": {"debounce_seconds": 0}})
    client.post("/v1/customers", json={"external_id": "acme"})
    emit(ctx, "acme", "quota.warning", WARNING_80)
    emit(ctx, "acme", "quota.warning", WARNING_80)
    settle(app)
    assert len(notes(client, "acme")) == 2


def test_invalid_notification_settings_are_refused(client: TestClient) -> None:
    response = client.patch(
        "/v1/product/settings", json={"notifications": {"debounce_seconds": -1}}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "notifications.debounce_seconds"

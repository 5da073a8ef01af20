"""Email over a real SMTP server, the alert webhook and Slack on loopback receivers,
and alert preferences."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from notes import emit, notes

from outbound_kit import MovableClock, Receiver, SmtpServer, settle
from tollway.kernel.context import Context

BRANDING = """
version: 1
branding:
  billing:
    company_name: "Acme Billing"
    support_email: "help@acme.example.com"
    invoice_footer: "Acme Ltd, 1 Harbour Road, Lisbon"
"""
FAILED = {
    "amount": 4900,
    "currency": "USD",
    "invoice_number": "INV-2026-0007",
    "failure_message": "card declined",
}


def brand(client: TestClient) -> None:
    response = client.post(
        "/v1/catalog/import", content=BRANDING, headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code == 200, response.text


def test_email_reaches_the_customer_with_the_products_branding(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    brand(client)
    created = client.post(
        "/v1/customers",
        json={"external_id": "globex", "name": "Globex", "email": "ops@globex.example.com"},
    )
    assert created.status_code == 201, created.text
    emit(ctx, "globex", "payment.failed", FAILED)
    settle(app)
    [(sender, recipients, mail)] = smtp.messages
    assert sender == "billing@acme.example.com"
    assert recipients == ["ops@globex.example.com"]
    assert mail["Subject"] == "[Acme Billing] Payment failed"
    assert mail["To"] == "ops@globex.example.com"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    plain = text.get_content().replace("\r\n", "\n")
    assert plain.startswith("Hello Globex,")
    assert "We could not collect 49.00 USD for invoice INV-2026-0007." in plain
    assert "Questions? Write to help@acme.example.com." in plain
    assert "Acme Billing\nAcme Ltd, 1 Harbour Road, Lisbon" in plain
    markup = html.get_content()
    assert "<strong>Acme Billing</strong><br>Acme Ltd, 1 Harbour Road, Lisbon" in markup
    assert 'href="mailto:help@acme.example.com"' in markup
    [note] = notes(client, "globex")
    assert note["channels"]["email"]["status"] == "sent"


def test_no_email_when_the_customer_opted_out_or_has_no_address(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    client.post("/v1/customers", json={"external_id": "quiet", "email": "q@globex.example.com"})
    client.put("/v1/customers/quiet/alert-preferences", json={"email_notifications": False})
    client.post("/v1/customers", json={"external_id": "nobody"})
    emit(ctx, "quiet", "payment.failed", FAILED)
    emit(ctx, "nobody", "payment.failed", FAILED)
    settle(app)
    assert smtp.messages == []
    assert list(notes(client, "quiet")[0]["channels"]) == ["in_app"]
    assert list(notes(client, "nobody")[0]["channels"]) == ["in_app"]


def test_owner_notifications_are_emailed_to_the_owner(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    brand(client)
    owner = {"notifications": {"owner_email": "cto@acme.example.com"}}
    client.patch("/v1/product/settings", json=owner)
    emit(ctx, None, "webhook_endpoint.disabled", {"id": "we_1", "url": "https://x/", "reason": "r"})
    settle(app)
    [(_, recipients, mail)] = smtp.messages
    assert recipients == ["cto@acme.example.com"]
    assert mail["Subject"] == "[Acme Billing] Webhook endpoint disabled"


def test_alert_webhook_and_slack_receive_the_notification(
    client: TestClient, app: FastAPI, ctx: Context, clock: MovableClock
) -> None:
    with Receiver() as hook, Receiver(statuses=[500]) as slack:
        client.post("/v1/customers", json={"external_id": "acme"})
        prefs = client.put(
            "/v1/customers/acme/alert-preferences",
            json={"webhook_url": hook.url, "slack_webhook": slack.url},
        )
        assert prefs.status_code == 200, prefs.text
        exceeded = {"metric": "api_calls", "threshold": 100, "used": 1000, "limit": 1000}
        emit(ctx, "acme", "quota.exceeded", exceeded)
        settle(app)
        [posted] = hook.requests
        assert len(slack.requests) == 1  # refused with 500: retried later
        [note] = notes(client, "acme")
        assert note["channels"]["webhook"]["status"] == "sent"
        assert note["channels"]["slack"]["status"] == "pending"
        clock.advance(timedelta(seconds=31))
        settle(app)
        assert len(slack.requests) == 2
    body = posted.json()
    assert body["type"] == "quota_exceeded"
    assert body["customer_id"] == "acme"
    assert body["title"] == "api_calls quota exceeded"
    assert body["data"]["limit"] == 1000
    assert slack.requests[1].json()["text"] == (
        "*api_calls quota exceeded*\n"
        "You have used 1000 of your 1000 api_calls this period: the limit is reached."
    )
    [note] = notes(client, "acme")
    assert note["channels"]["slack"]["status"] == "sent"


def test_test_clock_customers_are_notified_when_their_clock_advances(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    start = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    clock_id = client.post("/v1/test-clocks", json={"frozen_time": start.isoformat()}).json()["id"]
    client.post(
        "/v1/customers",
        json={"external_id": "timed", "email": "t@globex.example.com", "test_clock": clock_id},
    )
    emit(ctx, "timed", "quota.warning", {"metric": "api_calls", "threshold": 80})
    settle(app)
    assert notes(client, "timed") == []
    assert smtp.messages == []
    advanced = client.post(
        f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": start.isoformat()}
    )
    assert advanced.status_code == 200
    [note] = notes(client, "timed")
    assert note["created_at"] == "2026-06-01T08:00:00Z"
    assert note["channels"]["email"]["status"] == "sent"
    assert [m[1] for m in smtp.messages] == [["t@globex.example.com"]]


def test_alert_preferences_default_then_replace(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    assert client.get("/v1/customers/acme/alert-preferences").json() == {
        "customer_id": "acme",
        "email_notifications": True,
        "webhook_url": None,
        "slack_webhook": None,
        "alert_thresholds": [80, 90, 100],
    }
    put = client.put(
        "/v1/customers/acme/alert-preferences",
        json={
            "email_notifications": False,
            "webhook_url": "https://alerts.example.com/tollway",
            "slack_webhook": "https://hooks.slack.com/services/T000/B000/XXX",
            "alert_thresholds": [100, 50, 50],
        },
    )
    assert put.status_code == 200, put.text
    assert put.json()["alert_thresholds"] == [50, 100]
    assert client.get("/v1/customers/acme/alert-preferences").json() == put.json()
    reset = client.put("/v1/customers/acme/alert-preferences", json={}).json()
    assert (reset["webhook_url"], reset["alert_thresholds"]) == (None, [80, 90, 100])


def test_alert_preferences_validation(client: TestClient) -> None:
    client.post("/v1/customers", json={"external_id": "acme"})
    path = "/v1/customers/acme/alert-preferences"
    for body, field in [
        ({"alert_thresholds": [0]}, "alert_thresholds[0]"),
        ({"alert_thresholds": ["80"]}, "alert_thresholds[0]"),
        ({"webhook_url": "ftp://x.example.com/"}, "webhook_url"),
        ({"slack_webhook": "javascript:alert(1)"}, "slack_webhook"),
        ({"sms": True}, "sms"),
    ]:
        response = client.put(path, json=body)
        assert response.status_code == 422, body
        assert field in [e["field"] for e in response.json()["errors"]], response.text
    assert client.get(path).json()["alert_thresholds"] == [80, 90, 100]
    assert client.put("/v1/customers/ghost/alert-preferences", json={}).status_code == 404


def test_customers_set_their_own_preferences_only(client: TestClient) -> None:
    for external_id in ("alpha", "beta"):
        client.post("/v1/customers", json={"external_id": external_id})
    key = client.post("/v1/customers/alpha/keys", json={"name": "portal"}).json()["key"]
    alpha = {"Authorization": f"Bearer {key}"}
    own = client.put(
        "/v1/customers/alpha/alert-preferences", json={"alert_thresholds": [75]}, headers=alpha
    )
    assert own.json()["alert_thresholds"] == [75]
    other = client.put("/v1/customers/beta/alert-preferences", json={}, headers=alpha)
    assert other.status_code == 404


def test_line_breaks_in_event_data_cannot_inject_email_headers(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    client.post("/v1/customers", json={"external_id": "acme", "email": "a@globex.example.com"})
    sneaky = {"metric": "calls\r\nBcc: victim@example.com", "threshold": 100}
    emit(ctx, "acme", "quota.exceeded", sneaky)
    settle(app)
    [(_, recipients, mail)] = smtp.messages
    assert recipients == ["a@globex.example.com"]
    assert mail["Bcc"] is None
    assert mail["Subject"] == "[Default product] calls Bcc: victim@example.com quota exceeded"

"""Story: a customer on a test clock crosses 80 % of its API quota. Everything it
was promised arrives when the clock advances: an in-app notification, an email, a
Slack message, its alert webhook, and a signed delivery to the product's endpoint.
A second warning inside the debounce window tells nobody twice; one after it does."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook

from outbound_kit import MovableClock, Receiver, SmtpServer, settle
from tollway import customers
from tollway.kernel.context import Context
from tollway.kernel.outbox import record_event
from tollway.kernel.settings import Settings

ROOT_KEY = "sk_test_root"
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    """Real time: receivers check webhook timestamps against their own clock."""
    return MovableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture
def settings(database_url: str, engine: object, smtp: SmtpServer) -> Settings:
    return Settings(
        database_url=database_url,
        api_key=ROOT_KEY,  # type: ignore[arg-type]
        test_mode=True,
        smtp_url=smtp.url,
        smtp_from="billing@acme.example.com",
    )


def at(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def quota_warning(ctx: Context, used: int) -> None:
    """What the quotas domain records when a threshold is crossed."""
    customer = customers.get_customer(ctx, "globex")
    record_event(
        ctx,
        "quota.warning",
        {"metric": "api_calls", "threshold": 80, "used": used, "limit": 10_000},
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    ctx.session.commit()


def test_a_quota_warning_reaches_every_channel_once(
    client: TestClient, app: FastAPI, ctx: Context, smtp: SmtpServer
) -> None:
    with Receiver() as product_hook, Receiver() as alert_hook, Receiver() as slack:
        # The SaaS listens to quota events; its customer Globex wants Slack and a webhook.
        endpoint = client.post(
            "/v1/webhook-endpoints", json={"url": product_hook.url, "events": ["quota.*"]}
        ).json()
        clock_id = client.post("/v1/test-clocks", json={"frozen_time": at(MONDAY)}).json()["id"]
        client.post(
            "/v1/customers",
            json={
                "external_id": "globex",
                "name": "Globex",
                "email": "ops@globex.example.com",
                "test_clock": clock_id,
            },
        )
        client.put(
            "/v1/customers/globex/alert-preferences",
            json={"webhook_url": alert_hook.url, "slack_webhook": slack.url},
        )
        client.patch("/v1/product/settings", json={"notifications": {"debounce_seconds": 3600}})

        # Monday 09:00 on Globex's clock: 8,000 of 10,000 calls.
        quota_warning(ctx, 8_000)
        settle(app)  # the worker leaves test-clock customers to their clock
        assert client.get("/v1/customers/globex/notifications").json()["data"] == []
        client.post(f"/v1/test-clocks/{clock_id}/advance", json={"frozen_time": at(MONDAY)})

        [note] = client.get("/v1/customers/globex/notifications").json()["data"]
        assert note["title"] == "api_calls usage at 80%"
        assert note["message"] == (
            "You have used 8000 of your 10000 api_calls this period (80% of the limit)."
        )
        assert note["created_at"] == at(MONDAY)
        assert {c: s["status"] for c, s in note["channels"].items()} == {
            "in_app": "delivered",
            "email": "sent",
            "webhook": "sent",
            "slack": "sent",
        }
        [(_, recipients, mail)] = smtp.messages
        assert recipients == ["ops@globex.example.com"]
        assert mail["Subject"] == "[Default product] api_calls usage at 80%"
        assert alert_hook.requests[0].json()["type"] == "quota_warning"
        assert slack.requests[0].json()["text"].startswith("*api_calls usage at 80%*")
        [delivery] = product_hook.requests
        event = Webhook(endpoint["secret"]).verify(delivery.body, delivery.headers)
        assert event["type"] == "quota.warning"
        assert event["timestamp"] == at(MONDAY)
        assert event["data"]["used"] == 8_000

        # 30 minutes later the quota check fires again: the product hears of it,
        # Globex is not told twice.
        quota_warning(ctx, 8_100)
        client.post(
            f"/v1/test-clocks/{clock_id}/advance",
            json={"frozen_time": at(MONDAY + timedelta(minutes=30))},
        )
        assert len(product_hook.requests) == 2
        assert len(client.get("/v1/customers/globex/notifications").json()["data"]) == 1
        assert (len(smtp.messages), len(slack.requests), len(alert_hook.requests)) == (1, 1, 1)

        # Two hours later, past the window, a new warning is news again.
        client.post(
            f"/v1/test-clocks/{clock_id}/advance",
            json={"frozen_time": at(MONDAY + timedelta(hours=2))},
        )
        quota_warning(ctx, 8_500)
        client.post(
            f"/v1/test-clocks/{clock_id}/advance",
            json={"frozen_time": at(MONDAY + timedelta(hours=2))},
        )
        notes = client.get("/v1/customers/globex/notifications").json()["data"]
        assert [n["data"]["used"] for n in notes] == [8_500, 8_000]
        assert notes[0]["created_at"] == at(MONDAY + timedelta(hours=2))
        assert (len(smtp.messages), len(slack.requests), len(alert_hook.requests)) == (2, 2, 2)

    # Globex reads the newest one from its billing page.
    key = client.post("/v1/customers/globex/keys", json={"name": "portal"}).json()["key"]
    globex = {"Authorization": f"Bearer {key}"}
    client.post(f"/v1/notifications/{notes[0]['id']}/read", headers=globex)
    unread = client.get("/v1/customers/globex/notifications/unread-count", headers=globex)
    assert unread.json() == {"unread_count": 1}

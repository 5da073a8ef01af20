"""Self-hosted mode (``TOLLWAY_SAAS_MODE=false``) end to end, with the relay and the
jobs running on a test clock: invoices are issued and never charged (no attempt, no
provider call, no payment event), trials convert, quotas are enforced locally."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from invoices import invoices_of
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from story import Story, utc

from tollway.api import create_app
from tollway.jobs import default_registry
from tollway.kernel.clock import Clock
from tollway.kernel.settings import Settings, get_settings
from tollway.payments import FakeProvider, Providers
from tollway.payments.models import PaymentAttempt, ProviderEventRecord


@pytest.fixture
def settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """The deployment's environment says self-hosted (lower layers read it there)."""
    monkeypatch.setenv("TOLLWAY_SAAS_MODE", "false")
    get_settings.cache_clear()
    yield settings.model_copy(update={"saas_mode": False})
    get_settings.cache_clear()


@pytest.fixture
def fake() -> FakeProvider:
    return FakeProvider()


@pytest.fixture
def app(settings: Settings, clock: Clock, wall_clock: Clock, fake: FakeProvider):  # type: ignore[no-untyped-def]
    """The app of the process, its providers holding a fake that must stay untouched."""
    providers = Providers(settings, instances={"fake": fake, "stripe": fake})
    registry = default_registry(settings, wall_clock=wall_clock, providers=providers)
    return create_app(settings, clock=clock, registry=registry)


def _rows(session_factory: sessionmaker[Session]) -> tuple[int, int]:
    with session_factory() as session:
        attempts = session.scalar(select(func.count()).select_from(PaymentAttempt))
        received = session.scalar(select(func.count()).select_from(ProviderEventRecord))
    return attempts or 0, received or 0


def test_invoices_are_issued_not_charged_and_quotas_hold(
    story: Story, fake: FakeProvider, session_factory: sessionmaker[Session]
) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"payments": {"provider": "fake"}})
    story.post("/v1/metrics", {"code": "api_calls", "name": "API", "aggregation": "count"}, 201)
    plan = {
        "code": "pro",
        "name": "Pro",
        "prices": [{"interval": "monthly", "amount": 4900}],
        "trial_days": 7,
        "quotas": [{"metric": "api_calls", "limit": 3, "period": "billing_period"}],
    }
    story.post("/v1/plans", plan, 201)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    sub = story.subscribe("acme", "pro")
    card = story.ok("POST", "/v1/customers/acme/payment-methods", 422, json={"token": "tok_visa"})
    assert card["type"].endswith("provider_not_configured")

    story.advance(utc(2026, 3, 8, 0, 1))  # the trial converts without a card
    assert story.sub(sub["id"])["status"] == "active"
    story.advance(utc(2026, 4, 8, 0, 1))  # and renews
    first, renewal = invoices_of(story, "acme")
    for invoice in (first, renewal):
        assert (invoice["status"], invoice["amount_due"], invoice["amount_paid"]) == (
            "open",
            4900,
            0,
        )
        attempts = story.ok("GET", f"/v1/invoices/{invoice['id']}/payment-attempts")["data"]
        assert attempts == []
    assert story.event_types("invoice.finalized") == ["invoice.finalized", "invoice.finalized"]
    story.post(f"/v1/invoices/{first['id']}/pay")  # paid by hand
    story.advance(utc(2026, 4, 20))
    assert invoices_of(story, "acme")[0]["status"] == "paid"
    assert story.events("payment.") == []
    assert fake.calls == []
    assert _rows(session_factory) == (0, 0)

    path = "/v1/customers/acme/quotas/api_calls/consume"
    for used in ("1", "2", "3"):
        assert story.post(path, {})["used"] == used
    refused = story.post(path, {}, 429)
    assert (refused["used"], refused["resets_at"]) == ("3", "2026-05-08T00:00:00Z")

"""A provider outage is not a decline: the charge job is retried later with the same
attempt and operation id, and no ``payment.failed`` is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from invoices import invoices_of
from story import Story, utc

from tollway.api import create_app
from tollway.jobs import default_registry
from tollway.kernel.clock import Clock
from tollway.kernel.settings import Settings
from tollway.payments import (
    ChargeRequest,
    ChargeResult,
    FakeProvider,
    Providers,
    ProviderUnavailable,
)


class FlakyProvider(FakeProvider):
    """The fake, unreachable for its first ``outages`` charges."""

    def __init__(self, outages: int) -> None:
        super().__init__()
        self.outages = outages
        self.unreachable: list[str] = []

    def charge(self, request: ChargeRequest) -> ChargeResult:
        if self.outages:
            self.outages -= 1
            self.unreachable.append(request.operation_id)
            raise ProviderUnavailable(self.name, "connect timeout")
        return super().charge(request)


@pytest.fixture
def flaky() -> FlakyProvider:
    return FlakyProvider(outages=2)


@pytest.fixture
def app(settings: Settings, clock: Clock, wall_clock: Clock, flaky: FlakyProvider) -> Any:
    providers = Providers(settings, instances={"fake": flaky})
    registry = default_registry(settings, wall_clock=wall_clock, providers=providers)
    return create_app(settings, clock=clock, registry=registry)


def test_an_unreachable_provider_is_asked_again_with_the_same_operation(
    story: Story, flaky: FlakyProvider
) -> None:
    story.ok("PATCH", "/v1/product/settings", json={"payments": {"provider": "fake"}})
    story.plan("pro", 2999)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.post("/v1/customers/acme/payment-methods", {"token": "tok_visa"}, 201)
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1, 0, 10))
    (invoice,) = invoices_of(story, "acme")
    assert (invoice["status"], invoice["amount_paid"]) == ("paid", 2999)
    (attempt,) = story.ok("GET", f"/v1/invoices/{invoice['id']}/payment-attempts")["data"]
    assert (attempt["attempt"], attempt["status"]) == (1, "succeeded")
    charged = [c.argument.operation_id for c in flaky.calls if c.method == "charge"]
    assert flaky.unreachable + charged == [attempt["id"]] * 3
    assert story.event_types("payment.") == ["payment.succeeded"]

"""No attempt stays ``processing`` for good: a retry asks the provider again even
after the method is deleted, a charge the provider cannot make fails for good, and
the sweep runs charges whose job ended without an outcome."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fake_asaas_api import API_KEY, AsaasApi
from fastapi.testclient import TestClient
from pydantic import SecretStr

from outbound_kit import settle
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outside import OutsideWork
from tollway.kernel.settings import Settings
from tollway.payments.service.outcomes import CHARGE_JOB
from tollway.payments.service.stale import sweep_processing


def _state(client: TestClient) -> Any:
    return client.app.state.tollway  # type: ignore[attr-defined]


def _invoice(client: TestClient, currency: str = "USD") -> str:
    item = {"description": "setup", "unit_amount": 4990}
    invoice = client.post("/v1/invoices", json={"customer_id": "ana", "items": [item]}).json()
    assert client.post(f"/v1/invoices/{invoice['id']}/finalize").json()["status"] == "open"
    return str(invoice["id"])


def _run(client: TestClient, step: str, *args: Any) -> Any:
    """One step of the charge job, in its own transaction where it has one."""
    state = _state(client)
    job = state.registry.handlers[CHARGE_JOB]
    assert isinstance(job, OutsideWork)
    if step == "perform":
        return job.perform(*args)
    with unit_of_work(state.session_factory) as session:
        ctx = Context(session=session, product_id=state.default_product_id, clock=state.clock)
        return getattr(job, step)(ctx, *args)


def _attempts(client: TestClient, invoice_id: str) -> list[tuple[int, str, str | None]]:
    data = client.get(f"/v1/invoices/{invoice_id}/payment-attempts").json()["data"]
    return [(a["attempt"], a["status"], a["failure_code"]) for a in data]


@pytest.fixture
def ana(client: TestClient) -> TestClient:
    client.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    client.post("/v1/customers", json={"external_id": "ana"})
    return client


def _charged_but_unanswered(client: TestClient) -> tuple[str, dict[str, Any]]:
    """The invoice's first charge reached the provider, whose answer was lost."""
    invoice_id = _invoice(client)
    settle(client.app)  # type: ignore[arg-type]  # no method yet: nothing scheduled
    method = client.post("/v1/customers/ana/payment-methods", json={"token": "tok_visa"}).json()
    payload = {"invoice_id": invoice_id, "attempt": 1}
    prepared = _run(client, "prepare", payload)
    _run(client, "perform", prepared)  # charged; the worker dies before completing
    assert client.delete(f"/v1/customers/ana/payment-methods/{method['id']}").status_code == 200
    return invoice_id, payload


def test_a_retry_after_the_method_is_deleted_asks_the_provider_again(ana: TestClient) -> None:
    invoice_id, payload = _charged_but_unanswered(ana)
    prepared = _run(ana, "prepare", payload)  # the job's retry
    assert prepared is not None
    _run(ana, "complete", payload, prepared, _run(ana, "perform", prepared))
    assert _attempts(ana, invoice_id) == [(1, "succeeded", None)]
    assert ana.get(f"/v1/invoices/{invoice_id}").json()["status"] == "paid"


def test_the_sweep_runs_a_charge_left_processing(ana: TestClient, clock: Any) -> None:
    invoice_id, _ = _charged_but_unanswered(ana)
    state = _state(ana)
    clock.advance(timedelta(minutes=30))
    with unit_of_work(state.session_factory) as session:
        sweep_processing(Context(session=session, product_id="", clock=state.clock), {})
    settle(ana.app)  # type: ignore[arg-type]
    assert _attempts(ana, invoice_id) == [(1, "processing", None)]  # not stale yet
    clock.advance(timedelta(hours=1))
    with unit_of_work(state.session_factory) as session:
        sweep_processing(Context(session=session, product_id="", clock=state.clock), {})
    settle(ana.app)  # type: ignore[arg-type]
    assert _attempts(ana, invoice_id) == [(1, "succeeded", None)]
    assert ana.get(f"/v1/invoices/{invoice_id}").json()["status"] == "paid"


@pytest.fixture
def api() -> Iterator[AsaasApi]:
    with AsaasApi() as started:
        assert isinstance(started, AsaasApi)
        yield started


@pytest.fixture
def settings(settings: Settings, api: AsaasApi) -> Settings:
    return settings.model_copy(
        update={"asaas_api_key": SecretStr(API_KEY), "asaas_api_base": f"{api.base_url}/v3"}
    )


def test_a_charge_the_provider_cannot_make_fails_for_good(client: TestClient) -> None:
    client.patch("/v1/product/settings", json={"payments": {"provider": "asaas"}})
    customer = {"external_id": "ana", "currency": "USD", "tax_id": "24971563792"}
    client.post("/v1/customers", json=customer)
    added = client.post("/v1/customers/ana/payment-methods", json={"token": "cc_tok_visa"})
    assert added.status_code == 201, added.text
    invoice_id = _invoice(client)
    settle(client.app)  # type: ignore[arg-type]
    assert _attempts(client, invoice_id) == [(1, "failed", "provider_unsupported")]
    (failed,) = client.get("/v1/events", params={"type": "payment.failed"}).json()["data"]
    assert (failed["data"]["final"], failed["data"]["next_retry_at"]) == (True, None)
    assert "only BRL" in failed["data"]["failure_message"]

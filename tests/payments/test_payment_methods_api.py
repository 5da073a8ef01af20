"""``/v1/customers/{external_id}/payment-methods`` over HTTP with the fake provider.

The routes call the provider with no database transaction open: a slow provider
holds up no other write, and every step that reached the provider is kept."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from tollway.payments import FakeProvider
from tollway.payments.models import ProviderAccount, StoredPaymentMethod
from tollway.payments.providers import PaymentMethod


@pytest.fixture
def acme(client: TestClient) -> TestClient:
    client.patch("/v1/product/settings", json={"payments": {"provider": "fake"}})
    assert client.post("/v1/customers", json={"external_id": "acme"}).status_code == 201
    return client


def _fake(client: TestClient) -> FakeProvider:
    fake = client.app.state.tollway.registry.providers.get("fake")  # type: ignore[attr-defined]
    assert isinstance(fake, FakeProvider)
    return fake


def _add(
    client: TestClient, token: str, headers: dict[str, str] | None = None, **extra: Any
) -> Any:
    body = {"token": token, **extra}
    return client.post("/v1/customers/acme/payment-methods", json=body, headers=headers)


def _listed(client: TestClient) -> list[tuple[str, str | None, bool]]:
    body = client.get("/v1/customers/acme/payment-methods").json()
    return [(m["brand"], m["last4"], m["is_default"]) for m in body["data"]]


def test_methods_are_attached_stored_and_one_is_default(acme: TestClient) -> None:
    first = _add(acme, "tok_visa")
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["customer_id"], body["provider"], body["brand"], body["last4"]) == (
        "acme",
        "fake",
        "visa",
        "4242",
    )
    assert (body["exp_month"], body["exp_year"], body["is_default"]) == (12, 2034, True)
    assert _add(acme, "tok_mastercard").json()["is_default"] is False
    assert _listed(acme) == [("mastercard", "4444", False), ("visa", "4242", True)]
    third = _add(acme, "tok_insufficientFunds", set_as_default=True).json()
    assert _listed(acme) == [
        ("visa", "9995", True),
        ("mastercard", "4444", False),
        ("visa", "4242", False),
    ]
    fake = _fake(acme)
    assert [c.method for c in fake.calls].count("create_customer") == 1
    deleted = acme.delete(f"/v1/customers/acme/payment-methods/{third['id']}")
    assert deleted.json() == {"id": third["id"], "deleted": True}
    assert fake.calls[-1].method == "detach_payment_method"
    assert _listed(acme) == [("mastercard", "4444", True), ("visa", "4242", False)]


def test_refused_requests_name_the_field_and_change_nothing(acme: TestClient) -> None:
    missing = acme.post("/v1/customers/acme/payment-methods", json={})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "token"
    provider = _add(acme, "tok_visa", provider="paypal")
    assert (provider.status_code, provider.json()["errors"][0]["field"]) == (422, "provider")
    declined = _add(acme, "tok_attachDeclined")
    assert (declined.status_code, declined.json()["decline_code"]) == (402, "card_declined")
    bad_token = _add(acme, "tok_nonsense")
    assert (bad_token.status_code, bad_token.json()["errors"][0]["field"]) == (422, "token")
    assert _add(acme, "tok_visa", provider="manual").status_code == 422
    unknown = acme.post("/v1/customers/nobody/payment-methods", json={"token": "tok_visa"})
    assert unknown.status_code == 404
    gone = acme.delete("/v1/customers/acme/payment-methods/pm_nope")
    assert gone.status_code == 404
    assert _listed(acme) == []


def test_an_invoices_attempts_are_listed(acme: TestClient) -> None:
    assert acme.get("/v1/invoices/inv_nope/payment-attempts").status_code == 404


WAIT = 20.0
"""Seconds a test waits for a thread before it fails (never reached when it passes)."""


class HeldAttach:
    """Makes the fake provider's attach wait until :meth:`release`."""

    def __init__(self, fake: FakeProvider, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Semaphore(0)
        self.released = threading.Event()
        attach = fake.attach_payment_method

        def held(**kwargs: Any) -> PaymentMethod:
            self.entered.release()
            assert self.released.wait(WAIT)
            return attach(**kwargs)

        monkeypatch.setattr(fake, "attach_payment_method", held)

    def wait_entered(self) -> None:
        assert self.entered.acquire(timeout=WAIT)

    def release(self) -> None:
        self.released.set()


def _in_thread(work: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    return thread, result


def test_a_write_completes_while_an_attach_waits_on_the_provider(
    acme: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldAttach(_fake(acme), monkeypatch)
    attaching, attached = _in_thread(lambda: _add(acme, "tok_visa"))
    held.wait_entered()

    other = acme.post("/v1/customers", json={"external_id": "globex"})
    attach_still_waiting = attaching.is_alive()
    held.release()
    attaching.join(WAIT)

    assert other.status_code == 201, other.text
    assert attach_still_waiting
    assert attached[0].status_code == 201, attached[0].text
    assert _listed(acme) == [("visa", "4242", True)]


def test_a_provider_error_keeps_the_provider_customer_link(acme: TestClient) -> None:
    refused = _add(acme, "tok_nonsense")
    assert (refused.status_code, refused.json()["errors"][0]["field"]) == (422, "token")
    state = acme.app.state.tollway  # type: ignore[attr-defined]
    with state.session_factory() as session:
        linked = session.scalars(select(ProviderAccount.reference)).all()
    assert len(linked) == 1

    assert _add(acme, "tok_visa").status_code == 201

    with state.session_factory() as session:
        assert session.scalars(select(ProviderAccount.reference)).all() == linked
    fake = _fake(acme)
    assert [c.method for c in fake.calls].count("create_customer") == 1
    assert [c.argument[0] for c in fake.calls if c.method == "attach_payment_method"] == [
        linked[0],
        linked[0],
    ]


def test_a_retried_attach_stores_the_method_once(acme: TestClient) -> None:
    first = _add(acme, "tok_visa")
    again = _add(acme, "tok_visa")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert _listed(acme) == [("visa", "4242", True)]


def test_concurrent_first_cards_leave_exactly_one_default(
    acme: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldAttach(_fake(acme), monkeypatch)
    tokens = ("tok_visa", "tok_mastercard")
    threads = [_in_thread(lambda t=token: _add(acme, t)) for token in tokens]
    held.wait_entered()
    held.wait_entered()
    held.release()
    for thread, _ in threads:
        thread.join(WAIT)

    statuses = sorted(result[0].status_code for _, result in threads)
    assert statuses in ([201, 201], [201, 409]), [r[0].text for _, r in threads]
    listed = _listed(acme)
    assert [is_default for _, _, is_default in listed].count(True) == 1
    assert len(listed) == statuses.count(201)
    state = acme.app.state.tollway  # type: ignore[attr-defined]
    with state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ProviderAccount)) == 1


def test_one_idempotency_key_answers_once_when_both_requests_reached_the_provider(
    acme: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldAttach(_fake(acme), monkeypatch)
    threads = [_in_thread(lambda: _add(acme, "tok_visa", {"Idempotency-Key": "k1"}))]
    held.wait_entered()
    threads.append(_in_thread(lambda: _add(acme, "tok_visa", {"Idempotency-Key": "k1"})))
    held.wait_entered()
    held.release()
    for thread, _ in threads:
        thread.join(WAIT)

    answers = [result[0] for _, result in threads]
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json() == answers[1].json()
    assert [a.headers.get("Idempotent-Replayed") for a in answers].count("true") == 1
    assert _listed(acme) == [("visa", "4242", True)]


def test_deleting_a_card_the_provider_already_detached_forgets_it(acme: TestClient) -> None:
    visa = _add(acme, "tok_visa").json()
    mastercard = _add(acme, "tok_mastercard").json()
    state = acme.app.state.tollway  # type: ignore[attr-defined]
    with state.session_factory() as session:
        reference = session.get_one(StoredPaymentMethod, visa["id"]).reference
    _fake(acme).detach_payment_method(reference)

    deleted = acme.delete(f"/v1/customers/acme/payment-methods/{visa['id']}")

    assert (deleted.status_code, deleted.json()) == (200, {"id": visa["id"], "deleted": True})
    assert _listed(acme) == [("mastercard", "4444", True)]
    assert mastercard["is_default"] is False

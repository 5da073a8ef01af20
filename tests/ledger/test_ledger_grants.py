"""Grants, consumption order, balance at an instant, paying invoices and voids."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tollway.customers import Customer, CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.kernel.outbox import Event
from tollway.kernel.tenancy import write_settings
from tollway.ledger import (
    CreditsSettings,
    apply_to_invoice,
    credit_summary,
    grant_credits,
    refund_to_balance,
    release_invoice,
)


def _customer(ctx: Context) -> Customer:
    return create_customer(ctx, CustomerCreate(external_id="acme", currency="USD"))


def _grant(ctx: Context, customer: Customer, amount: int, **extra: object) -> str:
    options: dict[str, object] = {"source": "admin", **extra}
    return grant_credits(ctx, customer, amount=amount, currency="USD", **options).id  # type: ignore[arg-type]


def _apply(
    ctx: Context,
    customer: Customer,
    amount: int,
    invoice: str,
    at: datetime,
    *,
    currency: str = "USD",
) -> int:
    return apply_to_invoice(
        ctx, customer.id, currency=currency, amount=amount, invoice_id=invoice, at=at
    )


def _events(ctx: Context, event_type: str) -> list[Event]:
    return list(ctx.session.scalars(select(Event).where(Event.type == event_type)))


def test_consumption_order_is_soonest_expiring_then_priority_then_oldest(
    ctx: Context, clock: Any
) -> None:
    customer = _customer(ctx)
    now = clock.now()
    forever = _grant(ctx, customer, 100)
    forever_vip = _grant(ctx, customer, 100, priority=5)
    month = _grant(ctx, customer, 100, expires_at=now + timedelta(days=30))
    week = _grant(ctx, customer, 100, expires_at=now + timedelta(days=7))
    week_vip = _grant(ctx, customer, 100, expires_at=now + timedelta(days=7), priority=5)
    assert _apply(ctx, customer, 250, "in_1", now) == 250
    left = {g.id: g.remaining for g in credit_summary(ctx, customer).grants}
    assert (left[week_vip], left[week], left[month]) == (0, 0, 50)
    assert _apply(ctx, customer, 200, "in_2", now) == 200
    left = {g.id: g.remaining for g in credit_summary(ctx, customer).grants}
    assert (left[month], left[forever_vip], left[forever]) == (0, 0, 50)
    assert credit_summary(ctx, customer).balance == 50


def test_a_5000_admin_credit_pays_a_140_invoice(ctx: Context, clock: Any) -> None:
    customer = _customer(ctx)
    _grant(ctx, customer, 5000, reason="goodwill")
    applied = apply_to_invoice(
        ctx, customer.id, currency="USD", amount=140, invoice_id="in_140", at=clock.now()
    )
    summary = credit_summary(ctx, customer)
    assert (applied, summary.balance, summary.currency) == (140, 4860, "USD")
    assert [(e.kind, e.amount, e.invoice_id) for e in summary.entries] == [
        ("consume", -140, "in_140"),
        ("grant", 5000, None),
    ]


def test_applying_is_idempotent_per_invoice_and_never_exceeds_the_balance(
    ctx: Context, clock: Any
) -> None:
    customer = _customer(ctx)
    _grant(ctx, customer, 100)
    at = clock.now()
    assert _apply(ctx, customer, 60, "a", at) == 60
    assert _apply(ctx, customer, 60, "a", at) == 60
    assert _apply(ctx, customer, 60, "b", at) == 40
    assert _apply(ctx, customer, 60, "c", at) == 0
    assert _apply(ctx, customer, 60, "d", at, currency="EUR") == 0
    assert credit_summary(ctx, customer).balance == 0


def test_a_voided_invoice_gives_its_credits_back_once(ctx: Context, clock: Any) -> None:
    customer = _customer(ctx)
    first = _grant(ctx, customer, 100, expires_at=clock.now() + timedelta(days=3))
    second = _grant(ctx, customer, 100)
    at = clock.now()
    assert _apply(ctx, customer, 150, "v", at) == 150
    assert release_invoice(ctx, "v", at) == 150
    assert release_invoice(ctx, "v", at) == 150
    summary = credit_summary(ctx, customer)
    assert summary.balance == 200
    assert {g.id: g.remaining for g in summary.grants} == {first: 100, second: 100}
    assert release_invoice(ctx, "never-paid-with-credits", at) == 0


def test_credits_released_after_their_grant_expired_expire_again(ctx: Context, clock: Any) -> None:
    customer = _customer(ctx)
    _grant(ctx, customer, 100, expires_at=clock.now() + timedelta(days=1))
    at = clock.now()
    assert _apply(ctx, customer, 80, "x", at) == 80
    later = at + timedelta(days=2)
    assert release_invoice(ctx, "x", later) == 80
    assert credit_summary(ctx, customer, at=later).balance == 0
    expired = _events(ctx, "credits.expired")
    assert [e.data["amount"] for e in expired] == [80]


def test_balance_at_an_instant(ctx: Context, clock: Any) -> None:
    customer = _customer(ctx)
    t0 = clock.now()
    _grant(ctx, customer, 1000, expires_at=t0 + timedelta(days=10))
    clock.advance(timedelta(days=1))
    _grant(ctx, customer, 500)
    t1 = clock.now()
    _apply(ctx, customer, 300, "i", t1)
    balance = lambda at: credit_summary(ctx, customer, at=at).balance  # noqa: E731
    assert balance(t0 - timedelta(seconds=1)) == 0
    assert balance(t0) == 1000
    assert balance(t1 - timedelta(seconds=1)) == 1000
    assert balance(t1) == 1200  # the expiring grant paid: 700 + 500
    assert balance(t0 + timedelta(days=10)) == 500  # expired, even before its job ran


def test_grants_are_idempotent_by_key(ctx: Context) -> None:
    customer = _customer(ctx)
    first = _grant(ctx, customer, 700, key="purchase:42", source="purchase")
    again = _grant(ctx, customer, 700, key="purchase:42", source="purchase")
    refund, refund_again = (
        refund_to_balance(ctx, customer, amount=30, currency="USD", reason="cn", key="cn_1")
        for _ in range(2)
    )
    assert (first, refund.id) == (again, refund_again.id)
    assert refund.source == "refund"
    assert credit_summary(ctx, customer).balance == 730
    assert len(_events(ctx, "credits.granted")) == 2


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": -5}, "amount"),
        ({"source": "gift"}, "source"),
        ({"expires_at_days": -1}, "expires_at"),
    ],
)
def test_bad_grants_name_the_field(
    ctx: Context, clock: Any, options: dict[str, object], field: str
) -> None:
    customer = _customer(ctx)
    args: dict[str, object] = {"amount": 100, "currency": "USD", "source": "admin"}
    for name, value in options.items():
        if name == "expires_at_days" and isinstance(value, int):
            args["expires_at"] = clock.now() + timedelta(days=value)
        else:
            args[name] = value
    with pytest.raises(ValidationFailed) as refused:
        grant_credits(ctx, customer, **args)  # type: ignore[arg-type]
    assert [e.field for e in refused.value.errors] == [field]


def test_low_balance_fires_once_per_drop(ctx: Context, clock: Any) -> None:
    write_settings(ctx, {"credits": CreditsSettings(low_balance_threshold=1000)})
    customer = _customer(ctx)
    at = clock.now()
    _grant(ctx, customer, 1500)
    _apply(ctx, customer, 600, "1", at)
    _apply(ctx, customer, 100, "2", at)
    assert [e.data["balance"] for e in _events(ctx, "credits.low_balance")] == [900]
    _grant(ctx, customer, 1000)
    _apply(ctx, customer, 1500, "3", at)
    low = _events(ctx, "credits.low_balance")
    assert [(e.data["balance"], e.data["threshold"]) for e in low] == [(900, 1000), (300, 1000)]

"""Dunning of a subscription Stripe collects: past due, notified and suspended like
any other, but its downgrade and cancel steps are Stripe's (its retry settings end
the subscription, and Tollway mirrors ``customer.subscription.deleted``)."""

from __future__ import annotations

import pytest
from dunning_kit import Payments, cases, consume, note_types, unpaid_pro
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from story import Story, utc

from tollway.dunning.models import DunningCase
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.ids import new_id
from tollway.payments.models import ProviderSubscription


@pytest.fixture
def payments(
    story: Story, session_factory: sessionmaker[Session], clock: Clock, ctx: Context
) -> Payments:
    return Payments(story, session_factory, clock, ctx.product_id)


def _collected_by_stripe(factory: sessionmaker[Session], ctx: Context, sub_id: str) -> None:
    with factory() as session:
        session.add(
            ProviderSubscription(
                id=new_id("psub"),
                product_id=ctx.product_id,
                subscription_id=sub_id,
                provider="stripe",
                reference="sub_stripe_1",
                created_at=utc(2026, 3, 1),
            )
        )
        session.commit()


@pytest.mark.parametrize("last_step", ["downgrade", "cancel"])
def test_a_stripe_collected_subscription_is_suspended_but_not_ended(
    story: Story,
    payments: Payments,
    session_factory: sessionmaker[Session],
    ctx: Context,
    last_step: str,
) -> None:
    steps = [{"after_days": 7, "action": "suspend"}, {"after_days": 14, "action": last_step}]
    story.ok("PATCH", "/v1/product/settings", json={"dunning": {"steps": steps}})
    sub, invoice = unpaid_pro(story)
    _collected_by_stripe(session_factory, ctx, sub["id"])
    story.advance(utc(2026, 3, 2))
    payments.failed(invoice, 1, next_retry_at=utc(2026, 3, 5))
    assert story.sub(sub["id"])["status"] == "past_due"
    story.advance(utc(2026, 3, 9))
    assert consume(story) == 403  # suspended, as any customer in dunning
    story.advance(utc(2026, 3, 16, 0, 1))
    after = story.sub(sub["id"])
    assert (after["plan_id"], after["status"]) == ("pro", "past_due")
    assert [(s["plan_id"], s["status"]) for s in story.subs_of("acme")] == [("pro", "past_due")]
    (case,) = cases(story)
    assert (case["status"], case["next_action"], case["next_action_at"]) == (
        "suspended",
        None,
        None,
    )
    assert story.event_types("dunning.") == ["dunning.started", "dunning.suspended"]
    assert [n for n in note_types(story) if n.startswith("dunning")] == [
        "dunning_started",
        "dunning_suspended",
    ]
    with session_factory() as session:
        (stored,) = session.scalars(select(DunningCase)).all()
        assert stored.steps[0] == {"after_days": 7, "action": "suspend"}
        assert stored.steps[1] == {
            "after_days": 14,
            "action": last_step,
            "skipped": "collected by stripe: stripe ends it, Tollway mirrors it",
        }

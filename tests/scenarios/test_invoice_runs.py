"""Stories: invoice runs react to subscription events, exactly once."""

from __future__ import annotations

from invoices import invoices_of, redeliver
from sqlalchemy.orm import Session, sessionmaker
from story import Story, utc

from tollway.kernel.clock import Clock


def test_a_subscription_is_invoiced_in_advance_at_start_and_each_renewal(
    story: Story, session_factory: sessionmaker[Session], clock: Clock
) -> None:
    story.plan("pro", 2999)
    story.starts_at(utc(2026, 3, 1))
    story.customer("acme")
    story.subscribe("acme", "pro", billing_cycle="monthly")
    story.advance(utc(2026, 3, 1))
    first = invoices_of(story, "acme")
    assert [(i["number"], i["status"], i["total"], i["amount_due"]) for i in first] == [
        ("INV-2026-0001", "open", 2999, 2999)
    ]
    assert [(line["kind"], line["amount"]) for line in first[0]["line_items"]] == [("plan", 2999)]
    story.advance(utc(2026, 4, 1))
    redeliver(story, session_factory, clock, "subscription.renewed")  # a rerun creates nothing
    redeliver(story, session_factory, clock, "subscription.created")
    assert [
        (i["number"], i["total"], i["period_start"][:10]) for i in invoices_of(story, "acme")
    ] == [
        ("INV-2026-0001", 2999, "2026-03-01"),
        ("INV-2026-0002", 2999, "2026-04-01"),
    ]

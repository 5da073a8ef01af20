"""Real threads applying credits to different invoices at once against one grant:
the grant rows are locked, so never more than the grant is applied in total."""

from __future__ import annotations

import threading

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tollway.customers import CustomerCreate, create_customer
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.tenancy import ensure_product
from tollway.ledger import CreditEntry, apply_to_invoice, credit_summary, grant_credits

THREADS = 6


def test_racing_invoices_never_apply_more_than_the_grant(
    session_factory: sessionmaker[Session], clock: Clock
) -> None:
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        customer = create_customer(ctx, CustomerCreate(external_id="acme", currency="USD"))
        grant_credits(ctx, customer, amount=100, currency="USD", source="admin")
    barrier = threading.Barrier(THREADS)
    applied: list[int] = []
    lock = threading.Lock()

    def apply(number: int) -> None:
        barrier.wait()
        with unit_of_work(session_factory) as session:
            ctx = Context(session=session, product_id=product_id, clock=clock)
            amount = apply_to_invoice(
                ctx,
                customer.id,
                currency="USD",
                amount=70,
                invoice_id=f"in_{number}",
                at=clock.now(),
            )
        with lock:
            applied.append(amount)

    threads = [threading.Thread(target=apply, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(applied, reverse=True)[:2] == [70, 30]
    assert sum(applied) == 100
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        assert credit_summary(ctx, customer).balance == 0
        consumed = session.scalar(
            select(func.sum(CreditEntry.amount)).where(CreditEntry.kind == "consume")
        )
    assert consumed == -100

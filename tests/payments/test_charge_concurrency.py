"""Two workers running the same charge job charge once: the attempt row, unique per
(invoice, number), gives both the same operation id, and the outcome is recorded by
whoever completes first (real threads; truly parallel on PostgreSQL)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from race_kit import race
from tollway import customers, invoicing, payments
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import unit_of_work
from tollway.kernel.outbox import Event
from tollway.kernel.outside import OutsideWork
from tollway.kernel.settings import Settings
from tollway.kernel.tenancy import ensure_product, write_settings
from tollway.payments import tasks as payment_tasks
from tollway.payments.service.outcomes import CHARGE_JOB

WORKERS = 4


def test_workers_running_the_same_charge_job_charge_once(
    session_factory: sessionmaker[Session], clock: Clock, settings: Settings
) -> None:
    providers = payments.Providers(settings)
    fake = providers.get("fake")
    assert isinstance(fake, payments.FakeProvider)
    with unit_of_work(session_factory) as session:
        product_id = ensure_product(session, code="default", name="Default", clock=clock).id
        ctx = Context(session=session, product_id=product_id, clock=clock)
        write_settings(ctx, {payments.SECTION: payments.PaymentsSettings(provider="fake")})
        customers.create_customer(ctx, customers.CustomerCreate(external_id="acme"))
        payments.add_payment_method(
            ctx, providers, "acme", payments.PaymentMethodCreate(token="tok_visa")
        )
        invoice = invoicing.create_invoice(
            ctx,
            invoicing.InvoiceCreate(
                customer_id="acme", items=[invoicing.ItemIn(description="setup", unit_amount=4990)]
            ),
        )
        invoicing.finalize_invoice(ctx, invoice.id)
    job = payment_tasks.build(providers).handlers[CHARGE_JOB]
    assert isinstance(job, OutsideWork)
    payload = {"invoice_id": invoice.id, "attempt": 1}

    def worker() -> None:  # the runner's three steps: prepare, perform, complete
        with unit_of_work(session_factory) as session:
            ctx = Context(session=session, product_id=product_id, clock=clock)
            prepared = job.prepare(ctx, payload)
        if prepared is None:
            return
        result = job.perform(prepared)
        with unit_of_work(session_factory) as session:
            ctx = Context(session=session, product_id=product_id, clock=clock)
            job.complete(ctx, payload, prepared, result)

    assert race(*[worker] * WORKERS) == ["ok"] * WORKERS
    with unit_of_work(session_factory) as session:
        ctx = Context(session=session, product_id=product_id, clock=clock)
        attempts = payments.list_attempts(ctx, invoice.id)
        paid = invoicing.get_invoice(ctx, invoice.id)
        succeeded = list(session.scalars(select(Event).where(Event.type == "payment.succeeded")))
    assert [(a.number, a.status, a.amount) for a in attempts] == [(1, "succeeded", 4990)]
    assert (paid.status, paid.amount_paid, paid.amount_due) == ("paid", 4990, 0)
    assert len(succeeded) == 1
    charges = [c.argument for c in fake.calls if c.method == "charge"]
    assert {c.operation_id for c in charges} == {attempts[0].id}

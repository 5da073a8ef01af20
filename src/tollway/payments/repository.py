"""All SQL of payments.

Reads of the product's rows go through ``ctx.product_id``. Inbound provider
webhooks find their subject by provider reference first (``*_by_reference``,
``attempt_by_id``), across products, since one provider account serves the whole
deployment; the caller then works in that row's product.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from tollway.kernel.context import Context
from tollway.kernel.db import Base
from tollway.payments.models import (
    PaymentAttempt,
    ProviderAccount,
    ProviderSubscription,
    StoredPaymentMethod,
)


class PaymentRepository:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def insert_once(self, row: Base) -> bool:
        """Add ``row`` in a savepoint; ``False`` if a unique key already holds it."""
        try:
            with self.ctx.session.begin_nested():
                self.ctx.session.add(row)
        except IntegrityError:
            return False
        return True

    def account(self, customer_id: str, provider: str) -> ProviderAccount | None:
        return self.ctx.session.scalar(
            select(ProviderAccount).where(
                ProviderAccount.product_id == self.ctx.product_id,
                ProviderAccount.customer_id == customer_id,
                ProviderAccount.provider == provider,
            )
        )

    def account_by_reference(self, provider: str, reference: str) -> ProviderAccount | None:
        return self.ctx.session.scalar(
            select(ProviderAccount).where(
                ProviderAccount.provider == provider, ProviderAccount.reference == reference
            )
        )

    def methods(self, customer_id: str) -> list[StoredPaymentMethod]:
        """The customer's methods, newest first, as the database has them now (loaded
        rows are refreshed: a request that waited on a provider reads them again)."""
        stmt = (
            select(StoredPaymentMethod)
            .where(
                StoredPaymentMethod.product_id == self.ctx.product_id,
                StoredPaymentMethod.customer_id == customer_id,
            )
            .order_by(StoredPaymentMethod.id.desc())
            .execution_options(populate_existing=True)
        )
        return list(self.ctx.session.scalars(stmt))

    def method(self, customer_id: str, method_id: str) -> StoredPaymentMethod | None:
        return next((m for m in self.methods(customer_id) if m.id == method_id), None)

    def default_method(self, customer_id: str) -> StoredPaymentMethod | None:
        return next((m for m in self.methods(customer_id) if m.is_default), None)

    def clear_default(self, customer_id: str) -> None:
        self.ctx.session.execute(
            update(StoredPaymentMethod)
            .where(
                StoredPaymentMethod.customer_id == customer_id,
                StoredPaymentMethod.is_default.is_(True),
            )
            .values(is_default=False)
            .execution_options(synchronize_session="fetch")
        )
        self.ctx.session.flush()

    def attempts(self, invoice_id: str, *, lock: bool = False) -> list[PaymentAttempt]:
        """The invoice's attempts, first first."""
        stmt = (
            select(PaymentAttempt)
            .where(
                PaymentAttempt.product_id == self.ctx.product_id,
                PaymentAttempt.invoice_id == invoice_id,
            )
            .order_by(PaymentAttempt.number)
        )
        if lock:
            stmt = stmt.with_for_update()
        return list(self.ctx.session.scalars(stmt))

    def attempt(self, invoice_id: str, number: int) -> PaymentAttempt | None:
        return self.ctx.session.scalar(
            select(PaymentAttempt).where(
                PaymentAttempt.product_id == self.ctx.product_id,
                PaymentAttempt.invoice_id == invoice_id,
                PaymentAttempt.number == number,
            )
        )

    def attempt_by_id(self, attempt_id: str, *, lock: bool = False) -> PaymentAttempt | None:
        stmt = select(PaymentAttempt).where(PaymentAttempt.id == attempt_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.ctx.session.scalar(stmt)

    def attempt_by_payment(self, provider: str, payment_id: str) -> PaymentAttempt | None:
        return self.ctx.session.scalar(
            select(PaymentAttempt)
            .where(
                PaymentAttempt.provider == provider,
                PaymentAttempt.provider_payment_id == payment_id,
            )
            .with_for_update()
        )

    def stop_retries(self, invoice_ids: Sequence[str], now: datetime) -> None:
        """No retry after ``now`` for these invoices (they were paid or voided); the
        retries already made keep their time."""
        self.ctx.session.execute(
            update(PaymentAttempt)
            .where(
                PaymentAttempt.invoice_id.in_(list(invoice_ids)),
                PaymentAttempt.next_retry_at > now,
            )
            .values(next_retry_at=None)
            .execution_options(synchronize_session="fetch")
        )

    def link(self, subscription_id: str) -> ProviderSubscription | None:
        return self.ctx.session.scalar(
            select(ProviderSubscription).where(
                ProviderSubscription.subscription_id == subscription_id
            )
        )

    def link_by_reference(self, provider: str, reference: str) -> ProviderSubscription | None:
        return self.ctx.session.scalar(
            select(ProviderSubscription).where(
                ProviderSubscription.provider == provider,
                ProviderSubscription.reference == reference,
            )
        )

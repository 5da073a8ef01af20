"""All SQL of subscriptions, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from sqlalchemy import Select, case, select, update

from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.db import among
from tollway.kernel.pagination import Page, PageRequest, paginate
from tollway.subscriptions.models import (
    RetentionOffer,
    Subscription,
    SubscriptionAddOn,
    SubscriptionCharge,
)


class SubscriptionRepository:
    """Subscriptions, their add-ons, charges and offers visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _readable(self) -> Select[Subscription]:
        stmt = select(Subscription).where(Subscription.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(Subscription.customer_id == self.ctx.customer_scope)
        return stmt

    def by_id(self, subscription_id: str, *, lock: bool = False) -> Subscription | None:
        stmt = self._readable().where(Subscription.id == subscription_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.ctx.session.scalar(stmt)

    def for_customer(self, customer_id: str, page: PageRequest) -> Page[Subscription]:
        stmt = self._readable().where(Subscription.customer_id == customer_id)
        return paginate(self.ctx.session, stmt, Subscription.id, page)

    def live_for_customer(self, customer_id: str, statuses: Iterable[str]) -> list[Subscription]:
        """The customer's subscriptions in ``statuses``, newest first."""
        stmt = self._readable().where(
            Subscription.customer_id == customer_id, Subscription.status.in_(sorted(statuses))
        )
        return list(self.ctx.session.scalars(stmt.order_by(Subscription.id.desc())))

    def lock_customer(self, customer_id: str) -> None:
        """Serialize subscription writes of one customer (a row lock on PostgreSQL)."""
        self.ctx.session.execute(
            select(Customer.id).where(Customer.id == customer_id).with_for_update()
        )

    def lock(self, row: object) -> None:
        """Reload ``row`` (any mapped row, e.g. a coupon being redeemed) under a row lock."""
        self.ctx.session.refresh(row, with_for_update=True)

    def add(self, row: object) -> None:
        self.ctx.session.add(row)
        self.ctx.session.flush()

    def addons(self, subscription_id: str) -> list[SubscriptionAddOn]:
        """Add-ons of the subscription, removed ones included, oldest first."""
        stmt = (
            select(SubscriptionAddOn)
            .where(
                SubscriptionAddOn.product_id == self.ctx.product_id,
                SubscriptionAddOn.subscription_id == subscription_id,
            )
            .order_by(SubscriptionAddOn.id)
        )
        return list(self.ctx.session.scalars(stmt))

    def charges(
        self, *, subscription_id: str | None = None, customer_id: str | None = None
    ) -> list[SubscriptionCharge]:
        """Charges of a subscription or a customer, oldest first."""
        stmt = select(SubscriptionCharge).where(
            SubscriptionCharge.product_id == self.ctx.product_id
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(SubscriptionCharge.customer_id == self.ctx.customer_scope)
        if subscription_id is not None:
            stmt = stmt.where(SubscriptionCharge.subscription_id == subscription_id)
        if customer_id is not None:
            stmt = stmt.where(SubscriptionCharge.customer_id == customer_id)
        return list(self.ctx.session.scalars(stmt.order_by(SubscriptionCharge.id)))

    def by_ids(self, subscription_ids: Iterable[str]) -> list[Subscription]:
        stmt = self._readable().where(
            among(self.ctx.session, Subscription.id, sorted(set(subscription_ids)))
        )
        return list(self.ctx.session.scalars(stmt))

    def uninvoiced_for_update(self, *customer_ids: str) -> list[SubscriptionCharge]:
        """The customers' unclaimed charges, oldest first, locked; rows locked by
        another transaction are skipped (PostgreSQL)."""
        stmt = (
            select(SubscriptionCharge)
            .where(
                SubscriptionCharge.product_id == self.ctx.product_id,
                among(self.ctx.session, SubscriptionCharge.customer_id, sorted(set(customer_ids))),
                SubscriptionCharge.invoice_id.is_(None),
            )
            .order_by(SubscriptionCharge.id)
            .with_for_update(skip_locked=True)
        )
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(SubscriptionCharge.customer_id == self.ctx.customer_scope)
        return list(self.ctx.session.scalars(stmt))

    def claim_charges(self, invoice_of: Mapping[str, str]) -> int:
        """Set each charge's invoice (charge id → invoice id) on those no invoice holds
        yet, in one statement; how many."""
        if not invoice_of:
            return 0
        result = self.ctx.session.execute(
            update(SubscriptionCharge)
            .where(
                SubscriptionCharge.product_id == self.ctx.product_id,
                among(self.ctx.session, SubscriptionCharge.id, sorted(invoice_of)),
                SubscriptionCharge.invoice_id.is_(None),
            )
            .values(invoice_id=case(dict(invoice_of), value=SubscriptionCharge.id))
            .execution_options(synchronize_session="fetch")
        )
        return int(getattr(result, "rowcount", 0))

    def offer(self, subscription_id: str, offer_id: str) -> RetentionOffer | None:
        return self.ctx.session.scalar(
            select(RetentionOffer).where(
                RetentionOffer.product_id == self.ctx.product_id,
                RetentionOffer.subscription_id == subscription_id,
                RetentionOffer.id == offer_id,
            )
        )

    def open_offers(self, subscription_id: str) -> list[RetentionOffer]:
        return list(
            self.ctx.session.scalars(
                select(RetentionOffer)
                .where(
                    RetentionOffer.product_id == self.ctx.product_id,
                    RetentionOffer.subscription_id == subscription_id,
                    RetentionOffer.status == "open",
                )
                .order_by(RetentionOffer.id)
            )
        )

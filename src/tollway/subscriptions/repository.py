"""All SQL of subscriptions, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import Select, select
from sqlalchemy.orm.attributes import set_committed_value

from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.db import among, pg_array
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

    def claim_charges(self, claims: Mapping[str, Sequence[SubscriptionCharge]]) -> int:
        """Set each charge's invoice (invoice id → its charges) on those no invoice
        holds yet, in one statement; how many. On PostgreSQL the pairs travel as two
        arrays (``UPDATE ... FROM unnest``: a short statement whatever their number),
        on SQLite as one ``executemany``. When all are claimed, the charge objects get
        their invoice too."""
        pairs = sorted((c.id, invoice_id) for invoice_id, cs in claims.items() for c in cs)
        if not pairs:
            return 0
        connection = self.ctx.session.connection()
        if connection.dialect.name == "postgresql":
            result = connection.exec_driver_sql(
                "UPDATE subscription_charges AS c SET invoice_id = u.invoice_id "
                "FROM unnest(%(ids)s::varchar[], %(invoices)s::varchar[]) AS u(id, invoice_id) "
                "WHERE c.product_id = %(product)s AND c.id = u.id AND c.invoice_id IS NULL",
                {
                    "ids": pg_array([charge for charge, _ in pairs]),
                    "invoices": pg_array([invoice for _, invoice in pairs]),
                    "product": self.ctx.product_id,
                },
            )
        else:
            result = connection.exec_driver_sql(
                "UPDATE subscription_charges SET invoice_id = ? "
                "WHERE product_id = ? AND id = ? AND invoice_id IS NULL",
                [(invoice, self.ctx.product_id, charge) for charge, invoice in pairs],
            )
        claimed = int(result.rowcount)
        if claimed == len(pairs):  # the statement bypassed the session's objects
            for invoice_id, charges in claims.items():
                for charge in charges:
                    set_committed_value(charge, "invoice_id", invoice_id)
        return claimed

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

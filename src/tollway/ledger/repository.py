"""All SQL of the ledger, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from tollway.kernel.context import Context
from tollway.kernel.db import among
from tollway.ledger.models import CreditAlert, CreditEntry, CreditGrant

S = TypeVar("S", bound=Select[Any])
ALLOCATION = "plan_allocation"


class LedgerRepository:
    """Grants and entries visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _scoped(self, stmt: S, model: Any) -> S:
        stmt = stmt.where(model.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(model.customer_id == self.ctx.customer_scope)
        return stmt

    def add_keyed(self, row: CreditGrant | CreditEntry) -> bool:
        """Insert ``row``; ``False`` (nothing written) when its ``key`` is taken."""
        try:
            with self.ctx.session.begin_nested():
                self.ctx.session.add(row)
        except IntegrityError:
            return False
        return True

    # grants

    def grant(self, grant_id: str, *, lock: bool = False) -> CreditGrant | None:
        stmt = self._scoped(select(CreditGrant), CreditGrant).where(CreditGrant.id == grant_id)
        return self.ctx.session.scalar(stmt.with_for_update() if lock else stmt)

    def grant_by_key(self, key: str) -> CreditGrant | None:
        stmt = self._scoped(select(CreditGrant), CreditGrant).where(CreditGrant.key == key)
        return self.ctx.session.scalar(stmt)

    def grants(
        self,
        customer_id: str,
        *,
        currency: str | None = None,
        paying: bool | None = None,
        lock: bool = False,
    ) -> list[CreditGrant]:
        """The customer's grants oldest first (the order locks are taken in);
        ``paying`` True: all but plan allocations, False: plan allocations only."""
        return self.grants_of([customer_id], currency=currency, paying=paying, lock=lock)

    def grants_of(
        self,
        customer_ids: Collection[str],
        *,
        currency: str | None = None,
        paying: bool | None = None,
        lock: bool = False,
    ) -> list[CreditGrant]:
        """:meth:`grants` of several customers in one query, oldest first."""
        stmt = self._scoped(select(CreditGrant), CreditGrant).where(
            among(self.ctx.session, CreditGrant.customer_id, sorted(set(customer_ids)))
        )
        if currency is not None:
            stmt = stmt.where(CreditGrant.currency == currency)
        if paying is not None:
            stmt = stmt.where(
                (CreditGrant.source != ALLOCATION) if paying else (CreditGrant.source == ALLOCATION)
            )
        stmt = stmt.order_by(CreditGrant.id)
        return list(self.ctx.session.scalars(stmt.with_for_update() if lock else stmt))

    def allocation(
        self, subscription_id: str, period_start: datetime, *, lock: bool = False
    ) -> CreditGrant | None:
        stmt = self._scoped(select(CreditGrant), CreditGrant).where(
            CreditGrant.subscription_id == subscription_id,
            CreditGrant.source == ALLOCATION,
            CreditGrant.period_start == period_start,
        )
        return self.ctx.session.scalar(stmt.with_for_update() if lock else stmt)

    def allocations_of(self, subscription_id: str) -> list[CreditGrant]:
        stmt = self._scoped(select(CreditGrant), CreditGrant).where(
            CreditGrant.subscription_id == subscription_id, CreditGrant.source == ALLOCATION
        )
        return list(self.ctx.session.scalars(stmt.order_by(CreditGrant.id)))

    # entries

    def entries(self, grant_ids: Sequence[str]) -> list[CreditEntry]:
        """Every entry of the given grants, oldest first."""
        if not grant_ids:
            return []
        stmt = self._scoped(select(CreditEntry), CreditEntry).where(
            among(self.ctx.session, CreditEntry.grant_id, grant_ids)
        )
        return list(self.ctx.session.scalars(stmt.order_by(CreditEntry.id)))

    def recent_entries(self, customer_id: str, limit: int) -> list[CreditEntry]:
        """The customer's newest entries, newest first."""
        stmt = self._scoped(select(CreditEntry), CreditEntry).where(
            CreditEntry.customer_id == customer_id
        )
        return list(self.ctx.session.scalars(stmt.order_by(CreditEntry.id.desc()).limit(limit)))

    def invoice_entries(self, invoice_id: str) -> list[CreditEntry]:
        return self.entries_of_invoices([invoice_id])

    def entries_of_invoices(self, invoice_ids: Collection[str]) -> list[CreditEntry]:
        """The entries of the given invoices, oldest first."""
        stmt = self._scoped(select(CreditEntry), CreditEntry).where(
            among(self.ctx.session, CreditEntry.invoice_id, sorted(set(invoice_ids)))
        )
        return list(self.ctx.session.scalars(stmt.order_by(CreditEntry.id)))

    # low-balance alert state

    def lock_alert(self, customer_id: str, now: datetime) -> CreditAlert:
        """The customer's low-balance state row, created if missing, locked until commit."""
        stmt = self._scoped(select(CreditAlert), CreditAlert).where(
            CreditAlert.customer_id == customer_id
        )
        found = self.ctx.session.scalar(stmt.with_for_update())
        if found is not None:
            return found
        row = CreditAlert(
            customer_id=customer_id, product_id=self.ctx.product_id, low=False, changed_at=now
        )
        try:
            with self.ctx.session.begin_nested():
                self.ctx.session.add(row)
        except IntegrityError:
            return self.ctx.session.scalars(stmt.with_for_update()).one()
        return row

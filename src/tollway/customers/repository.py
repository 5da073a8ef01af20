"""All SQL of customers, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Select, select

from tollway.customers.models import Customer
from tollway.kernel.context import Context
from tollway.kernel.db import among
from tollway.kernel.pagination import Page, PageRequest, paginate


class CustomerRepository:
    """Customers visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _readable(self) -> Select[Customer]:
        stmt = select(Customer).where(Customer.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(Customer.id == self.ctx.customer_scope)
        return stmt

    def by_external_id(self, external_id: str) -> Customer | None:
        return self.ctx.session.scalar(self._readable().where(Customer.external_id == external_id))

    def by_external_ids(self, external_ids: Iterable[str]) -> dict[str, Customer]:
        wanted = sorted(set(external_ids))
        found: dict[str, Customer] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            stmt = self._readable().where(among(self.ctx.session, Customer.external_id, chunk))
            found.update((c.external_id, c) for c in self.ctx.session.scalars(stmt))
        return found

    def by_id(self, customer_id: str) -> Customer | None:
        return self.ctx.session.scalar(self._readable().where(Customer.id == customer_id))

    def list(self, page: PageRequest) -> Page[Customer]:
        return paginate(self.ctx.session, self._readable(), Customer.id, page)

    def lock(self, customer: Customer) -> None:
        """Reload ``customer`` under a row lock held until the transaction ends."""
        self.ctx.session.refresh(customer, with_for_update=True)

    def add(self, customer: Customer) -> None:
        self.ctx.session.add(customer)
        self.ctx.session.flush()

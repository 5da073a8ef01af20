"""All SQL of dunning, filtered by product and, for scoped callers, customer."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, select

from tollway.dunning.models import DunningCase
from tollway.kernel.context import Context

OPEN = ("past_due", "suspended", "downgraded", "canceled")
"""Statuses of a case whose invoice is still unpaid."""


class DunningRepository:
    """Dunning cases visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _readable(self) -> Select[DunningCase]:
        stmt = select(DunningCase).where(DunningCase.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(DunningCase.customer_id == self.ctx.customer_scope)
        return stmt

    def add(self, case: DunningCase) -> None:
        self.ctx.session.add(case)
        self.ctx.session.flush()

    def by_id(self, case_id: str, *, lock: bool = False) -> DunningCase | None:
        stmt = self._readable().where(DunningCase.id == case_id)
        return self.ctx.session.scalar(stmt.with_for_update() if lock else stmt)

    def by_invoice(self, invoice_id: str, *, lock: bool = False) -> DunningCase | None:
        stmt = self._readable().where(DunningCase.invoice_id == invoice_id)
        return self.ctx.session.scalar(stmt.with_for_update() if lock else stmt)

    def of_customer(self, customer_id: str, *, open_only: bool) -> Sequence[DunningCase]:
        """The customer's cases, newest first (at most 100)."""
        stmt = self._readable().where(DunningCase.customer_id == customer_id)
        if open_only:
            stmt = stmt.where(DunningCase.status.in_(OPEN))
        return self.ctx.session.scalars(stmt.order_by(DunningCase.id.desc()).limit(100)).all()

    def others_open(self, case: DunningCase, *, status: str | None = None) -> bool:
        """Whether another case of the same customer is open (in ``status``, if given)."""
        stmt = self._readable().where(
            DunningCase.customer_id == case.customer_id,
            DunningCase.id != case.id,
            DunningCase.status.in_(OPEN if status is None else (status,)),
        )
        return self.ctx.session.scalar(stmt.limit(1)) is not None

    def open_for_subscription(self, case: DunningCase) -> bool:
        """Whether another case of the same subscription is open."""
        stmt = self._readable().where(
            DunningCase.subscription_id == case.subscription_id,
            DunningCase.id != case.id,
            DunningCase.status.in_(OPEN),
        )
        return self.ctx.session.scalar(stmt.limit(1)) is not None

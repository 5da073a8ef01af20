"""All SQL of the catalog, filtered by the caller's product.

The catalog is readable by every key of the product, customer-scoped ones too, so
no customer filter applies here; writes are guarded in the services.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from tollway.catalog.models import AddOn, BillableMetric, Coupon, Plan
from tollway.kernel.context import Context
from tollway.kernel.pagination import Page, PageRequest, paginate

Row = TypeVar("Row", Plan, BillableMetric, AddOn, Coupon)


class _CodedRepository(Generic[Row]):
    """Rows of one catalog table, addressed by their per-product ``code``."""

    model: type[Row]

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _col(self, name: str) -> InstrumentedAttribute[Any]:
        column: InstrumentedAttribute[Any] = getattr(self.model, name)
        return column

    def _readable(self) -> Select[Row]:
        return select(self.model).where(self._col("product_id") == self.ctx.product_id)

    def by_code(self, code: str) -> Row | None:
        return self.ctx.session.scalar(self._readable().where(self._col("code") == code))

    def by_codes(self, codes: Iterable[str]) -> dict[str, Row]:
        """The rows among ``codes`` that exist, by code."""
        wanted = sorted(set(codes))
        if not wanted:
            return {}
        rows = self.ctx.session.scalars(self._readable().where(self._col("code").in_(wanted)))
        return {row.code: row for row in rows}

    def list(self, page: PageRequest) -> Page[Row]:
        return paginate(self.ctx.session, self._readable(), self._col("id"), page)

    def add(self, row: Row) -> None:
        self.ctx.session.add(row)
        self.ctx.session.flush()


class PlanRepository(_CodedRepository[Plan]):
    """Plans of the product, archived ones included."""

    model = Plan

    def list_filtered(self, page: PageRequest, *, active: bool | None = None) -> Page[Plan]:
        stmt = self._readable()
        if active is not None:
            stmt = stmt.where(Plan.active.is_(active))
        return paginate(self.ctx.session, stmt, Plan.id, page)

    def defaults(self) -> list[Plan]:
        """The product's default plan (a list: empty, or one)."""
        return list(self.ctx.session.scalars(self._readable().where(Plan.is_default.is_(True))))


class MetricRepository(_CodedRepository[BillableMetric]):
    """Billable metrics of the product."""

    model = BillableMetric


class AddOnRepository(_CodedRepository[AddOn]):
    """Add-ons of the product."""

    model = AddOn


class CouponRepository(_CodedRepository[Coupon]):
    """Coupons of the product."""

    model = Coupon

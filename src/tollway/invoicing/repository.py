"""All SQL of invoicing, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import make_transient_to_detached

from tollway.invoicing.models import (
    BilledPeriod,
    CreditNote,
    Invoice,
    InvoiceLine,
    InvoiceSequence,
)
from tollway.kernel.context import Context
from tollway.kernel.db import among, conflict_insert, insert_new_rows, insert_rows
from tollway.kernel.ids import new_ids
from tollway.kernel.pagination import Page, PageRequest, paginate


@dataclass(frozen=True)
class PeriodKey:
    """What an invoice bills once: ``kind`` of a subscription's period."""

    subscription_id: str
    period_start: datetime
    period_end: datetime
    kind: str


class InvoiceRepository:
    """Invoices, lines, sequences, billed periods and credit notes visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _readable(self) -> Select[Invoice]:
        stmt = select(Invoice).where(Invoice.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(Invoice.customer_id == self.ctx.customer_scope)
        return stmt

    def by_id(self, invoice_id: str, *, lock: bool = False) -> Invoice | None:
        stmt = self._readable().where(Invoice.id == invoice_id)
        if lock:
            stmt = stmt.with_for_update()
        return self.ctx.session.scalar(stmt)

    def by_ids(self, invoice_ids: Sequence[str]) -> list[Invoice]:
        """The invoices among ``invoice_ids``, in id order."""
        stmt = (
            self._readable()
            .where(among(self.ctx.session, Invoice.id, invoice_ids))
            .order_by(Invoice.id)
        )
        return list(self.ctx.session.scalars(stmt))

    def for_customer(self, customer_id: str, page: PageRequest) -> Page[Invoice]:
        stmt = self._readable().where(Invoice.customer_id == customer_id)
        return paginate(self.ctx.session, stmt, Invoice.id, page)

    def open_for_customer(self, customer_id: str) -> list[Invoice]:
        """The customer's open invoices, oldest first."""
        stmt = (
            self._readable()
            .where(Invoice.customer_id == customer_id, Invoice.status == "open")
            .order_by(Invoice.id)
        )
        return list(self.ctx.session.scalars(stmt))

    def for_subscription(self, subscription_id: str) -> list[Invoice]:
        """The subscription's invoices, oldest first."""
        stmt = (
            self._readable().where(Invoice.subscription_id == subscription_id).order_by(Invoice.id)
        )
        return list(self.ctx.session.scalars(stmt))

    def lines_of(self, invoice_ids: Sequence[str]) -> dict[str, list[InvoiceLine]]:
        """The lines of each invoice, in their order."""
        found: dict[str, list[InvoiceLine]] = {i: [] for i in invoice_ids}
        if not invoice_ids:
            return found
        stmt = (
            select(InvoiceLine)
            .where(
                InvoiceLine.product_id == self.ctx.product_id,
                among(self.ctx.session, InvoiceLine.invoice_id, invoice_ids),
            )
            .order_by(InvoiceLine.invoice_id, InvoiceLine.position)
        )
        for line in self.ctx.session.scalars(stmt):
            found[line.invoice_id].append(line)
        return found

    def add_all(self, rows: Iterable[object]) -> None:
        self.ctx.session.add_all(list(rows))
        self.ctx.session.flush()

    def add_invoices(self, invoices: Sequence[Invoice], lines: Sequence[dict[str, Any]]) -> None:
        """Store new invoices and their lines, each table written at once (no unit of
        work flush, no line object); the invoices then join the session as stored
        objects, as if loaded."""
        session = self.ctx.session
        columns = [c.key for c in Invoice.__table__.columns]
        insert_rows(session, Invoice, [{c: getattr(i, c) for c in columns} for i in invoices])
        insert_rows(session, InvoiceLine, list(lines))
        for invoice in invoices:
            make_transient_to_detached(invoice)
            session.add(invoice)

    def take_numbers(self, year: int, count: int) -> int:
        """Reserve ``count`` numbers of ``year``; returns the last one. The sequence row
        stays locked until the transaction ends, so numbers never repeat nor skip."""
        insert = conflict_insert(self.ctx.session, InvoiceSequence).values(
            product_id=self.ctx.product_id, year=year, last_number=count
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["product_id", "year"],
            set_={"last_number": InvoiceSequence.last_number + count},
        ).returning(InvoiceSequence.last_number)
        return int(self.ctx.session.execute(stmt).scalar_one())

    def claim_periods(self, keys: Sequence[PeriodKey], invoice_ids: Sequence[str]) -> set[str]:
        """Insert the billed-period keys (``invoice_ids`` pairs with ``keys``); returns the
        subscription ids whose key was new. A key another transaction holds waits for
        it (PostgreSQL) and is then skipped."""
        if not keys:
            return set()
        now = self.ctx.now()
        rows = [
            {
                "id": key_id,
                "product_id": self.ctx.product_id,
                "subscription_id": key.subscription_id,
                "period_start": key.period_start,
                "period_end": key.period_end,
                "kind": key.kind,
                "invoice_id": invoice_id,
                "created_at": now,
            }
            for key_id, key, invoice_id in zip(
                new_ids("bpk", len(keys)), keys, invoice_ids, strict=True
            )
        ]
        key = ("subscription_id", "period_start", "kind")
        return set(
            insert_new_rows(
                self.ctx.session, BilledPeriod, rows, key=key, returning="subscription_id"
            )
        )

    def billed_until(self, subscription_ids: Sequence[str]) -> dict[str, datetime]:
        """Where each subscription's billed usage ends (the latest end of its usage
        keys); subscriptions with none are absent."""
        if not subscription_ids:
            return {}
        stmt = (
            select(BilledPeriod.subscription_id, func.max(BilledPeriod.period_end))
            .where(
                BilledPeriod.product_id == self.ctx.product_id,
                among(self.ctx.session, BilledPeriod.subscription_id, subscription_ids),
                BilledPeriod.kind == "usage",
            )
            .group_by(BilledPeriod.subscription_id)
        )
        return dict(self.ctx.session.execute(stmt).all())

    def forget_empty(self, keys: Sequence[PeriodKey]) -> None:
        """Keys whose period turned out to have nothing to bill point to no invoice."""
        for key in keys:
            self.ctx.session.execute(
                update(BilledPeriod)
                .where(
                    BilledPeriod.subscription_id == key.subscription_id,
                    BilledPeriod.period_start == key.period_start,
                    BilledPeriod.kind == key.kind,
                )
                .values(invoice_id=None)
            )

    def credit_notes(self, invoice_id: str) -> list[CreditNote]:
        """The invoice's credit notes, oldest first."""
        stmt = (
            select(CreditNote)
            .where(
                CreditNote.product_id == self.ctx.product_id, CreditNote.invoice_id == invoice_id
            )
            .order_by(CreditNote.id)
        )
        return list(self.ctx.session.scalars(stmt))

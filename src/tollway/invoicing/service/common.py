"""What the invoicing use cases share: loading, outputs, events and stored rows."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tollway.invoicing.models import Invoice
from tollway.invoicing.repository import InvoiceRepository
from tollway.invoicing.schemas import InvoiceOut, LineFields
from tollway.invoicing.totals import Line
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_ids
from tollway.kernel.outbox import NewEvent, record_events


def load(ctx: Context, invoice_id: str, *, lock: bool = False) -> Invoice:
    """The invoice; 404 when absent or out of the caller's scope."""
    invoice = InvoiceRepository(ctx).by_id(invoice_id, lock=lock)
    if invoice is None:
        raise NotFound(f"invoice {invoice_id!r} not found", param="id")
    return invoice


def outputs(
    ctx: Context,
    invoices: Sequence[Invoice],
    lines: Mapping[str, Sequence[LineFields]] | None = None,
) -> list[InvoiceOut]:
    """The invoices with their lines (``lines`` by invoice id when the caller holds
    them, else read), ``overdue`` on each customer's clock."""
    if lines is None:
        lines = InvoiceRepository(ctx).lines_of([i.id for i in invoices])
    return [InvoiceOut.of(i, lines[i.id], now=ctx.now(i.test_clock_id)) for i in invoices]


def out(ctx: Context, invoice: Invoice) -> InvoiceOut:
    return outputs(ctx, [invoice])[0]


Snapshot = dict[str, Any]
"""An invoice as its events carry it: :class:`InvoiceOut` in JSON form."""


def snapshots(
    ctx: Context,
    invoices: Sequence[Invoice],
    lines: Mapping[str, Sequence[LineFields]] | None = None,
) -> list[Snapshot]:
    """The invoices' event snapshots (lines as in :func:`outputs`)."""
    return [o.model_dump(mode="json") for o in outputs(ctx, invoices, lines)]


def resnapshot(ctx: Context, invoice: Invoice, before: Snapshot) -> Snapshot:
    """The invoice's snapshot now, its lines unchanged since ``before`` was taken
    (reused as they are, not rebuilt)."""
    after = InvoiceOut.of(invoice, [], now=ctx.now(invoice.test_clock_id)).model_dump(mode="json")
    after["line_items"] = before["line_items"]
    return after


def emit(ctx: Context, invoice: Invoice, event_type: str) -> None:
    """Record ``event_type`` with the invoice's snapshot (lines included)."""
    ctx.session.flush()
    emit_all(ctx, [(invoice, event_type, snapshots(ctx, [invoice])[0])])


def emit_all(ctx: Context, events: Sequence[tuple[Invoice, str, Snapshot]]) -> None:
    """Record each (invoice, event type, snapshot), in order, in one statement."""
    record_events(
        ctx,
        [
            NewEvent(
                event_type,
                snapshot,
                customer_id=invoice.customer_id,
                test_clock_id=invoice.test_clock_id,
            )
            for invoice, event_type, snapshot in events
        ],
    )


def line_rows(ctx: Context, invoice_id: str, lines: Sequence[Line]) -> list[dict[str, Any]]:
    """The rows (column values) storing the lines of ``invoice_id``, in order."""
    return [
        {
            "id": line_id,
            "product_id": ctx.product_id,
            "invoice_id": invoice_id,
            "position": position,
            "kind": line.kind,
            "description": line.description,
            "quantity": line.quantity,
            "unit_amount": line.unit_amount,
            "amount": line.amount,
            "discount": line.discount,
            "period_start": line.period_start,
            "period_end": line.period_end,
            "charge_id": line.charge_id,
            "metric": line.metric,
        }
        for position, (line_id, line) in enumerate(
            zip(new_ids("il", len(lines)), lines, strict=True)
        )
    ]

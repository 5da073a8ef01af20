"""Invoice PDFs: an invoice, its customer and the product's branding, rendered by WeasyPrint.

:meth:`InvoiceDocument.build` turns the invoice output shape, a customer and the
product's branding into the text an invoice shows: money formatted by Babel in the
branding's locale from integer minor units (the currency's exponent from
``kernel/money.py``, ``Decimal`` only), dates in the locale's medium format and in the
customer's time zone. :func:`render_invoice_pdf` renders that document from
``templates/invoice.html`` (Jinja2, autoescaped) with WeasyPrint.

Rendering never touches the network or the file system: WeasyPrint's URL fetcher is
allowed ``data:`` URIs only, so a logo (or anything inside an SVG logo) given as a URL is
refused and simply not drawn. Give the logo as a ``data:`` URI to show it.

WeasyPrint loads Pango, a system library, when it is imported, so it is imported on the
first render: Tollway starts without Pango, and only rendering a PDF needs it
(:class:`PdfUnavailable` says which packages to install).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from tollway.kernel.errors import TollwayError
from tollway.kernel.money import exponent, normalize_currency

DEFAULT_LOCALE = "en_US"

_STATUSES = {
    "draft": "Draft",
    "open": "Open",
    "paid": "Paid",
    "void": "Void",
    "uncollectible": "Uncollectible",
}

_TEMPLATES = Environment(
    loader=PackageLoader("tollway.invoicing", "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
)


class PdfUnavailable(TollwayError):
    """WeasyPrint cannot run here: its system libraries (Pango) are missing."""

    status = 503
    code = "pdf_unavailable"
    title = "PDF rendering unavailable"


@dataclass(frozen=True)
class DocumentLine:
    """One line item as printed: every field is display text."""

    description: str
    quantity: str
    unit_amount: str
    amount: str
    period: str


@dataclass(frozen=True)
class InvoiceDocument:
    """Everything an invoice PDF prints, formatted for its locale (display text only)."""

    locale: str
    company_name: str
    logo: str | None
    support_email: str | None
    footer: str | None
    number: str
    status: str
    issue_date: str
    due_date: str
    period: str
    bill_to: tuple[str, ...]
    lines: tuple[DocumentLine, ...]
    totals: tuple[tuple[str, str], ...]
    """(label, amount) rows from the subtotal down to the amount due, which comes last."""
    notes: tuple[str, ...]

    @classmethod
    def build(
        cls,
        invoice: Mapping[str, Any],
        customer: Mapping[str, Any],
        branding: Mapping[str, Any],
        locale: str,
    ) -> InvoiceDocument:
        """The document of ``invoice`` (the invoice output shape) billed to ``customer``
        (``name, email, external_id, billing_address, tax_id, country``, optional
        ``timezone``), under the product's ``branding`` (its ``billing`` keys), in
        ``locale`` (a CLDR locale such as ``en_US``; see :func:`branding_locale`)."""
        billing: Mapping[str, Any] = branding.get("billing") or {}
        fmt = _Formatter(
            Locale.parse(locale.replace("-", "_")),
            normalize_currency(str(invoice["currency"])),
            ZoneInfo(customer["timezone"]) if customer.get("timezone") else UTC,
        )
        return cls(
            locale=str(fmt.locale),
            company_name=billing.get("company_name") or "",
            logo=billing.get("invoice_logo") or None,
            support_email=billing.get("support_email") or None,
            footer=billing.get("invoice_footer") or None,
            number=invoice.get("number") or "",
            status=_status(invoice),
            issue_date=fmt.medium_date(invoice.get("issued_at") or invoice.get("created_at")),
            due_date=fmt.medium_date(invoice.get("due_date")),
            period=fmt.period(invoice.get("period_start"), invoice.get("period_end")),
            bill_to=_bill_to(customer, billing.get("tax_id_label") or "Tax ID", fmt.locale),
            lines=tuple(
                DocumentLine(
                    description=str(line.get("description") or ""),
                    quantity=fmt.quantity(line.get("quantity")),
                    unit_amount=fmt.unit_amount(line.get("unit_amount")),
                    amount=fmt.money(int(line["amount"])),
                    period=fmt.period(line.get("period_start"), line.get("period_end")),
                )
                for line in invoice.get("line_items") or ()
            ),
            totals=_totals(invoice, fmt),
            notes=_notes(invoice.get("notes")),
        )


def branding_locale(branding: Mapping[str, Any]) -> str:
    """The locale invoices of a product are printed in: ``branding.billing.locale``
    (checked when the catalog is imported), else ``en_US``."""
    billing: Mapping[str, Any] = branding.get("billing") or {}
    return str(billing.get("locale") or DEFAULT_LOCALE)


def render_invoice_html(document: InvoiceDocument) -> str:
    """The invoice as HTML, from ``templates/invoice.html``; every value is escaped."""
    return _TEMPLATES.get_template("invoice.html").render(
        doc=document, lang=document.locale.replace("_", "-")
    )


def render_invoice_pdf(document: InvoiceDocument) -> bytes:
    """The invoice as a PDF. Fetches nothing: only ``data:`` URIs are loaded."""
    try:
        from weasyprint import HTML  # noqa: PLC0415 - loads Pango: only when a PDF is wanted
    except (ImportError, OSError) as exc:
        raise PdfUnavailable(
            "rendering PDFs needs WeasyPrint's system libraries "
            "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core): "
            f"{exc}"
        ) from exc
    html = HTML(string=render_invoice_html(document), url_fetcher=data_only_fetcher())
    pdf: bytes = html.write_pdf()
    return pdf


def data_only_fetcher() -> Any:
    """WeasyPrint's URL fetcher, allowed ``data:`` URIs only: every other URL (https,
    http, file, relative) is refused before any connection or file is opened."""
    from weasyprint.urls import URLFetcher  # noqa: PLC0415 - see render_invoice_pdf

    return URLFetcher(allowed_protocols=("data",), allow_redirects=False)


@dataclass(frozen=True)
class _Formatter:
    locale: Locale
    currency: str
    zone: tzinfo

    def money(self, minor: int | Decimal) -> str:
        """Minor units (``12345``) as money (``$123.45``, ``R$ 123,45``, ``¥12,345``):
        exactly the currency's exponent in decimals, more only for fractional minor units."""
        digits = exponent(self.currency)
        pattern = copy.copy(self.locale.currency_formats["standard"])
        pattern.frac_prec = (digits, digits)
        text: str = pattern.apply(
            Decimal(minor).scaleb(-digits),
            self.locale,
            currency=self.currency,
            currency_digits=False,
            decimal_quantization=False,
        )
        return text

    def unit_amount(self, value: Any) -> str:
        return "" if value is None or value == "" else self.money(Decimal(str(value)))

    def quantity(self, value: Any) -> str:
        if value is None or value == "":
            return ""
        return format_decimal(
            Decimal(str(value)).normalize(), locale=self.locale, decimal_quantization=False
        )

    def percent(self, rate: Any) -> str:
        """A rate in percent (``"21"``, ``"7.5"``) as the locale writes it (``21%``)."""
        return format_percent(
            Decimal(str(rate)).scaleb(-2), locale=self.locale, decimal_quantization=False
        )

    def day(self, value: Any) -> date | None:
        """A calendar date: aware instants in the customer's time zone, dates as given."""
        if value is None or value == "":
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if isinstance(value, datetime):
            return value.astimezone(self.zone).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        raise TypeError(f"not a date: {value!r}")

    def medium_date(self, value: Any) -> str:
        day = self.day(value)
        return "" if day is None else format_date(day, "medium", locale=self.locale)

    def period(self, start: Any, end: Any) -> str:
        first, last = self.day(start), self.day(end)
        if first is None or last is None:
            return ""
        return format_interval(first, last, "yMMMd", locale=self.locale)


def _status(invoice: Mapping[str, Any]) -> str:
    status = str(invoice.get("status") or "")
    if status == "open" and invoice.get("overdue"):
        return "Overdue"
    return _STATUSES.get(status, status.capitalize())


def _bill_to(customer: Mapping[str, Any], tax_id_label: str, locale: Locale) -> tuple[str, ...]:
    address: Mapping[str, Any] = customer.get("billing_address") or {}
    city_line = " ".join(
        part
        for part in (
            ", ".join(p for p in (address.get("city"), address.get("state")) if p),
            address.get("postal_code"),
        )
        if part
    )
    country = address.get("country") or customer.get("country")
    rows = (
        customer.get("name") or customer.get("external_id"),
        customer.get("email"),
        address.get("line1"),
        address.get("line2"),
        city_line,
        locale.territories.get(country, country) if country else None,
        f"{tax_id_label}: {customer['tax_id']}" if customer.get("tax_id") else None,
    )
    return tuple(str(row) for row in rows if row)


def _totals(invoice: Mapping[str, Any], fmt: _Formatter) -> tuple[tuple[str, str], ...]:
    tax_label = str(invoice.get("tax_label") or "Tax")
    if invoice.get("tax_rate") not in (None, ""):
        tax_label = f"{tax_label} {fmt.percent(invoice['tax_rate'])}"
    if invoice.get("tax_inclusive"):
        tax_label = f"{tax_label} (included)"
    rows: list[tuple[str, int]] = [("Subtotal", int(invoice["subtotal"]))]
    if invoice.get("discount"):
        rows.append(("Discount", -int(invoice["discount"])))
    rows += [(tax_label, int(invoice["tax"])), ("Total", int(invoice["total"]))]
    if invoice.get("credits_applied"):
        rows.append(("Credits applied", -int(invoice["credits_applied"])))
    rows += [
        ("Amount paid", int(invoice.get("amount_paid") or 0)),
        ("Amount due", int(invoice["amount_due"])),
    ]
    return tuple((label, fmt.money(amount)) for label, amount in rows)


def _notes(notes: str | Sequence[str] | None) -> tuple[str, ...]:
    if not notes:
        return ()
    return (notes,) if isinstance(notes, str) else tuple(str(note) for note in notes)

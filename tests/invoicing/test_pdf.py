"""Invoice PDFs, read back as text with pdftotext (poppler-utils), as a customer sees them."""

from __future__ import annotations

import base64
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pdf_kit import pdf_text
from tollway.invoicing import InvoiceDocument, PdfUnavailable, branding_locale, render_invoice_pdf
from tollway.invoicing.pdf import data_only_fetcher, render_invoice_html

PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
BRANDING = {
    "billing": {
        "company_name": "Tollway Inc.",
        "support_email": "billing@tollway.example",
        "invoice_logo": PNG,
        "invoice_footer": "Thank you for your business!",
        "tax_id_label": "VAT Number",
        "currency": "USD",
    }
}
CUSTOMER = {
    "external_id": "org_42",
    "name": "Acme BV",
    "email": "ops@acme.example",
    "billing_address": {
        "line1": "Keizersgracht 1",
        "line2": None,
        "city": "Amsterdam",
        "state": None,
        "postal_code": "1015 CJ",
        "country": "NL",
    },
    "tax_id": "NL123456789B01",
    "country": "NL",
    "timezone": "Europe/Amsterdam",
}
TO = "\N{EN DASH}"  # Babel's date intervals
REVERSE_CHARGE = "Reverse charge: VAT to be accounted for by the recipient (Art. 196)."


def invoice(**changes: Any) -> dict[str, Any]:
    """A known invoice: 100.00 + 40.00, 10% off, 21% VAT, 50.00 of credits applied."""
    return {
        "id": "inv_1",
        "number": "INV-2026-0001",
        "customer_id": "org_42",
        "subscription_id": "sub_1",
        "status": "open",
        "currency": "USD",
        "period_start": "2026-01-01T00:00:00+01:00",
        "period_end": "2026-02-01T00:00:00+01:00",
        "issued_at": "2026-01-15T12:00:00Z",
        "due_date": "2026-02-14",
        "subtotal": 14000,
        "discount": 1400,
        "credits_applied": 5000,
        "tax": 2646,
        "total": 15246,
        "amount_due": 10246,
        "amount_paid": 0,
        "overdue": False,
        "line_items": [
            {
                "description": "Pro plan",
                "quantity": "1",
                "unit_amount": "10000",
                "amount": 10000,
                "kind": "base_fee",
                "period_start": "2026-01-01T00:00:00+01:00",
                "period_end": "2026-02-01T00:00:00+01:00",
            },
            {
                "description": "Storage (GB-hours)",
                "quantity": "1000",
                "unit_amount": "4",
                "amount": 4000,
                "kind": "usage",
                "period_start": "2025-12-01T00:00:00+01:00",
                "period_end": "2026-01-01T00:00:00+01:00",
            },
        ],
        "tax_label": "VAT",
        "tax_rate": "21",
        "tax_inclusive": False,
        "notes": None,
        "created_at": "2026-01-15T11:59:00Z",
    } | changes


def image_count(pdf: bytes, tmp_path: Path) -> int:
    tool = shutil.which("pdfimages")
    if tool is None:
        pytest.fail("pdfimages is missing: install poppler-utils", pytrace=False)
    path = tmp_path / "images.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(  # noqa: S603 - a fixed tool on our own file
        [tool, "-list", str(path)], capture_output=True, check=True, text=True
    )
    return sum(row.split()[2] == "image" for row in out.stdout.splitlines()[2:])  # not smasks


def test_known_invoice_in_en_us(tmp_path: Path) -> None:
    document = InvoiceDocument.build(invoice(), CUSTOMER, BRANDING, "en_US")
    pdf = render_invoice_pdf(document)

    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf, tmp_path)
    for expected in (
        "Tollway Inc.",
        "Invoice Number INV-2026-0001",
        "Status Open",
        "Issued Jan 15, 2026",
        "Due Feb 14, 2026",
        f"Period Jan 1 {TO} Feb 1, 2026",
        "Bill to Acme BV ops@acme.example Keizersgracht 1 Amsterdam 1015 CJ Netherlands "
        "VAT Number: NL123456789B01",
        "Description Quantity Unit price Amount",
        f"Pro plan 1 $100.00 $100.00 Jan 1 {TO} Feb 1, 2026",
        f"Storage (GB-hours) 1,000 $0.04 $40.00 Dec 1, 2025 {TO} Jan 1, 2026",
        "Subtotal $140.00 Discount -$14.00 VAT 21% $26.46 Total $152.46 "
        "Credits applied -$50.00 Amount paid $0.00 Amount due $102.46",
        "Thank you for your business! Questions? billing@tollway.example",
    ):
        assert expected in text, expected
    assert "Notes" not in text
    assert image_count(pdf, tmp_path) == 1  # the data: URI logo is drawn


def test_reverse_charge_invoice_in_pt_br(tmp_path: Path) -> None:
    lines = invoice()["line_items"]
    lines[1] |= {"quantity": "10000", "unit_amount": "0.4"}  # a fraction of a centavo
    reverse_charge = invoice(
        currency="BRL",
        line_items=lines,
        tax=0,
        tax_rate="0.00",
        total=12600,
        credits_applied=0,
        amount_paid=2600,
        amount_due=10000,
        notes=REVERSE_CHARGE,
        status="paid",
    )
    document = InvoiceDocument.build(reverse_charge, CUSTOMER, BRANDING, "pt_BR")
    text = pdf_text(render_invoice_pdf(document), tmp_path)

    for expected in (
        "Status Paid",
        "Issued 15 de jan. de 2026",
        "Due 14 de fev. de 2026",
        "Amsterdam 1015 CJ Países Baixos VAT Number: NL123456789B01",
        f"Pro plan 1 R$ 100,00 R$ 100,00 1 de jan. {TO} 1 de fev. de 2026",
        "Storage (GB-hours) 10.000 R$ 0,004 R$ 40,00",
        "Subtotal R$ 140,00 Discount -R$ 14,00 VAT 0% R$ 0,00 Total R$ 126,00 "
        "Amount paid R$ 26,00 Amount due R$ 100,00",
        f"Notes {REVERSE_CHARGE}",
    ):
        assert expected in text, expected
    assert "Credits applied" not in text


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "shown"),
    [
        (12345, "USD", "en_US", "$123.45"),
        (12345, "BRL", "pt_BR", "R$\xa0123,45"),
        (12345, "USD", "pt_BR", "US$\xa0123,45"),
        (12345, "JPY", "en_US", "¥12,345"),
        (12345, "JPY", "pt_BR", "JP¥\xa012.345"),
        (-500, "EUR", "de_DE", "-5,00\xa0€"),
        (123456789, "EUR", "fr_FR", "1\u202f234\u202f567,89\xa0€"),
        (12345, "IQD", "en_US", "IQD12.345"),  # ISO exponent 3, where CLDR says 0
        (0, "USD", "en_US", "$0.00"),
    ],
)
def test_money_is_formatted_for_the_locale_from_minor_units(
    amount: int, currency: str, locale: str, shown: str
) -> None:
    zero = {"subtotal": 0, "tax": 0, "total": 0, "discount": 0, "credits_applied": 0}
    document = InvoiceDocument.build(
        invoice(currency=currency, line_items=[], amount_due=amount, **zero),
        CUSTOMER,
        BRANDING,
        locale,
    )
    assert document.totals[-1] == ("Amount due", shown)


@pytest.mark.parametrize(
    ("rate", "inclusive", "locale", "label"),
    [
        ("21", False, "en_US", "VAT 21%"),
        ("7.5", True, "pt_BR", "VAT 7,5% (included)"),
        ("0.00", False, "de_DE", "VAT 0\xa0%"),
        (None, False, "en_US", "VAT"),
    ],
)
def test_tax_row_is_labelled_with_its_rate_in_percent(
    rate: str | None, inclusive: bool, locale: str, label: str
) -> None:
    taxed = invoice(tax_rate=rate, tax_inclusive=inclusive)
    document = InvoiceDocument.build(taxed, CUSTOMER, BRANDING, locale)
    assert document.totals[2][0] == label


def test_dates_are_the_customers_calendar_dates() -> None:
    late = datetime(2026, 1, 15, 23, 30, tzinfo=UTC)  # already the 16th in Tokyo
    document = InvoiceDocument.build(
        invoice(issued_at=late, status="open", overdue=True, number=None),
        CUSTOMER | {"timezone": "Asia/Tokyo"},
        BRANDING,
        "en-US",
    )
    assert (document.issue_date, document.status, document.number) == (
        "Jan 16, 2026",
        "Overdue",
        "",
    )
    assert document.locale == "en_US"


def test_hostile_text_is_printed_as_text_never_markup(tmp_path: Path) -> None:
    hostile = '<script>alert(1)</script><img src="http://127.0.0.1:9/x.png">'
    lines = [invoice()["line_items"][0] | {"description": hostile}]
    branding = {"billing": BRANDING["billing"] | {"company_name": "<b>Evil</b> & Co"}}
    document = InvoiceDocument.build(invoice(line_items=lines), CUSTOMER, branding, "en_US")

    html = render_invoice_html(document)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in html
    text = pdf_text(render_invoice_pdf(document), tmp_path)
    assert f"{hostile} 1 $100.00 $100.00" in text
    assert "<b>Evil</b> & Co" in text


class _Recorder(ThreadingHTTPServer):
    paths: list[str]


@pytest.fixture
def http_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Recorder]:
    """A local HTTP server that serves a PNG on any GET and records the paths asked for."""
    for proxy in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy"):
        monkeypatch.delenv(proxy, raising=False)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.paths.append(self.path)
            body = base64.b64decode(PNG.partition(",")[2])
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = _Recorder(("127.0.0.1", 0), Handler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def test_logos_given_as_urls_are_never_fetched(http_server: _Recorder, tmp_path: Path) -> None:
    from weasyprint import HTML  # noqa: PLC0415 - the unrestricted fetcher, as a control

    base = f"http://127.0.0.1:{http_server.server_address[1]}"
    svg = (
        "data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' "
        "xmlns:xlink='http://www.w3.org/1999/xlink' width='10' height='10'>"
        f"<image href='{base}/inside-svg.png' width='10' height='10'/></svg>"
    )
    document = InvoiceDocument.build(invoice(), CUSTOMER, BRANDING, "en_US")

    for logo in (f"{base}/logo.png", svg):
        pdf = render_invoice_pdf(replace(document, logo=logo))
        assert pdf.startswith(b"%PDF-")
        assert "Tollway Inc." in pdf_text(pdf, tmp_path)
        assert image_count(pdf, tmp_path) == 0
    assert http_server.paths == []

    # The same HTML with WeasyPrint's default fetcher does reach the server.
    HTML(string=render_invoice_html(replace(document, logo=f"{base}/logo.png"))).write_pdf()
    assert http_server.paths == ["/logo.png"]


@pytest.mark.parametrize(
    "url",
    ["https://example.com/logo.png", "http://127.0.0.1/x", "file:///etc/passwd", "ftp://x/y"],
)
def test_the_fetcher_refuses_everything_but_data_uris(url: str) -> None:
    fetcher = data_only_fetcher()
    with pytest.raises(ValueError, match="disallowed protocol"):
        fetcher.fetch(url)
    assert fetcher.fetch(PNG).read().startswith(b"\x89PNG")


def test_missing_system_libraries_are_a_clear_503(monkeypatch: pytest.MonkeyPatch) -> None:
    document = InvoiceDocument.build(invoice(), CUSTOMER, BRANDING, "en_US")
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as without Pango
    with pytest.raises(PdfUnavailable, match="apt-get install libpango") as caught:
        render_invoice_pdf(document)
    assert caught.value.status == 503


def test_branding_locale_defaults_to_en_us() -> None:
    assert branding_locale({}) == "en_US"
    assert branding_locale({"billing": {"company_name": "X"}}) == "en_US"
    assert branding_locale({"billing": {"locale": "pt_BR"}}) == "pt_BR"

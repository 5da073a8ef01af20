"""Invoicing: invoices and their PDFs."""

from tollway.invoicing.pdf import (
    InvoiceDocument,
    PdfUnavailable,
    branding_locale,
    render_invoice_pdf,
)

__all__ = ["InvoiceDocument", "PdfUnavailable", "branding_locale", "render_invoice_pdf"]

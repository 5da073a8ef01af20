"""Event types the invoicing domain records."""

INVOICE_CREATED = "invoice.created"
INVOICE_FINALIZED = "invoice.finalized"
INVOICE_PAID = "invoice.paid"
INVOICE_VOIDED = "invoice.voided"
INVOICE_UNCOLLECTIBLE = "invoice.marked_uncollectible"
INVOICE_OVERDUE = "invoice.overdue"
CREDIT_NOTE_CREATED = "credit_note.created"

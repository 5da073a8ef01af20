"""Invoicing use cases: runs, manual invoices, the lifecycle, credit notes and reads."""

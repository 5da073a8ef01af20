"""Invoice and credit-note numbers (pure)."""

from __future__ import annotations

WIDTH = 4


def invoice_number(prefix: str, year: int, sequence: int) -> str:
    """``INV-2026-0001``: the prefix, the year and the sequence (at least 4 digits)."""
    return f"{prefix}-{year}-{sequence:0{WIDTH}d}"


def credit_note_number(invoice_number: str, sequence: int) -> str:
    """``INV-2026-0001-CN1``: the invoice's number and the note's rank on it."""
    return f"{invoice_number}-CN{sequence}"

"""Invoice statuses and the moves between them (pure).

``draft → open → paid | void | uncollectible``; a draft may be voided, an
uncollectible invoice may still be paid or voided. Anything else is
:class:`~tollway.kernel.errors.InvalidTransition` (409), raised before any write.
"""

from __future__ import annotations

from tollway.kernel.errors import InvalidTransition

DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE = "draft", "open", "paid", "void", "uncollectible"
STATUSES = (DRAFT, OPEN, PAID, VOID, UNCOLLECTIBLE)
FINALIZED = frozenset((OPEN, PAID, UNCOLLECTIBLE))
"""Statuses of an issued, numbered invoice that still stands (credit notes apply)."""

ACTIONS: dict[str, frozenset[str]] = {
    "finalize": frozenset((DRAFT,)),
    "void": frozenset((DRAFT, OPEN, UNCOLLECTIBLE)),
    "pay": frozenset((OPEN, UNCOLLECTIBLE)),
    "mark_uncollectible": frozenset((OPEN,)),
    "credit_note": FINALIZED,
}


def check(action: str, status: str) -> None:
    """Refuse ``action`` on an invoice in ``status`` with 409."""
    if status not in ACTIONS[action]:
        raise InvalidTransition(
            f"cannot {action.replace('_', ' ')} an invoice that is {status}",
            status_from=status,
        )

"""What a grant has left at an instant, and the order grants are consumed in (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from tollway.ledger.models import CreditEntry, CreditGrant

SETTLE = "expire"
"""The kind of the entry that closes a grant (its expiry, or an allocation's settlement)."""


def by_grant(entries: Iterable[CreditEntry]) -> dict[str, list[CreditEntry]]:
    """Entries indexed by their grant."""
    index: dict[str, list[CreditEntry]] = {}
    for entry in entries:
        index.setdefault(entry.grant_id, []).append(entry)
    return index


def entries_sum(grant: CreditGrant, entries: Iterable[CreditEntry], at: datetime) -> int:
    """The sum of ``grant``'s entries that took effect by ``at``."""
    return sum(e.amount for e in entries if e.grant_id == grant.id and e.at <= at)


def closed(grant: CreditGrant, entries: Iterable[CreditEntry], at: datetime) -> bool:
    """Whether ``grant`` is over at ``at``: expired, or its closing entry took effect."""
    if grant.expires_at is not None and grant.expires_at <= at:
        return True
    return any(e.grant_id == grant.id and e.kind == SETTLE and e.at <= at for e in entries)


def remaining(
    grant: CreditGrant, entries: Sequence[CreditEntry], at: datetime, burned: int = 0
) -> int:
    """What ``grant`` has left at ``at``: its entries so far, less ``burned`` (the
    live burn of an open plan allocation); nothing before it starts or once closed."""
    if grant.granted_at > at or closed(grant, entries, at):
        return 0
    return max(0, entries_sum(grant, entries, at) - burned)


def consumption_order(grants: Iterable[CreditGrant]) -> list[CreditGrant]:
    """Soonest-expiring first (no expiry last), then higher priority, then oldest."""
    return sorted(
        grants,
        key=lambda g: (
            g.expires_at is None,
            g.expires_at.timestamp() if g.expires_at is not None else 0.0,
            -g.priority,
            g.granted_at.timestamp(),
            g.id,
        ),
    )


def allocate(amount: int, available: Sequence[tuple[CreditGrant, int]]) -> list[tuple[str, int]]:
    """Take up to ``amount`` from ``available`` (grant, remaining), in the given order:
    ``(grant_id, taken)`` for each grant that gives something."""
    taken: list[tuple[str, int]] = []
    left = amount
    for grant, have in available:
        if left <= 0:
            break
        part = min(have, left)
        if part > 0:
            taken.append((grant.id, part))
            left -= part
    return taken

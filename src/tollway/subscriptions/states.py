"""The subscription state machine: which status may follow which.

Every status change goes through :func:`transition`; anything else is an
:class:`~tollway.kernel.errors.InvalidTransition` (409) raised before any write.
"""

from __future__ import annotations

from typing import Literal

from tollway.kernel.errors import InvalidTransition

Status = Literal["trialing", "active", "past_due", "paused", "canceled", "expired", "incomplete"]

TRIALING, ACTIVE, PAST_DUE, PAUSED = "trialing", "active", "past_due", "paused"
CANCELED, EXPIRED, INCOMPLETE = "canceled", "expired", "incomplete"

STATUSES: tuple[str, ...] = (TRIALING, ACTIVE, PAST_DUE, PAUSED, CANCELED, EXPIRED, INCOMPLETE)
LIVE: frozenset[str] = frozenset({TRIALING, ACTIVE, PAST_DUE, PAUSED})
"""Statuses in which the subscription is the customer's contract."""

TRANSITIONS: dict[str, frozenset[str]] = {
    INCOMPLETE: frozenset({ACTIVE, TRIALING, EXPIRED}),
    TRIALING: frozenset({ACTIVE, EXPIRED, CANCELED}),
    ACTIVE: frozenset({PAST_DUE, PAUSED, CANCELED}),
    PAST_DUE: frozenset({ACTIVE, PAUSED, CANCELED, EXPIRED}),
    PAUSED: frozenset({ACTIVE, CANCELED}),
    CANCELED: frozenset({ACTIVE}),
    EXPIRED: frozenset(),
}


ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    "activate": (frozenset({TRIALING, INCOMPLETE}), ACTIVE),
    "expire": (frozenset({TRIALING, INCOMPLETE, PAST_DUE}), EXPIRED),
    "cancel": (frozenset({TRIALING, ACTIVE, PAST_DUE, PAUSED}), CANCELED),
    "pause": (frozenset({ACTIVE, PAST_DUE}), PAUSED),
    "resume": (frozenset({PAUSED}), ACTIVE),
    "reactivate": (frozenset({CANCELED}), ACTIVE),
    "mark past due": (frozenset({ACTIVE}), PAST_DUE),
    "recover": (frozenset({PAST_DUE}), ACTIVE),
}
"""Each lifecycle action: the statuses it may start from and the status it leads to."""


def apply(action: str, current: str) -> str:
    """The status after ``action`` from ``current``, or :class:`InvalidTransition`."""
    sources, target = ACTIONS[action]
    if current not in sources:
        raise InvalidTransition(
            f"cannot {action} a subscription that is {current}",
            status_from=current,
            status_to=target,
        )
    return transition(current, target, action=action)


def can_transition(current: str, target: str) -> bool:
    """Whether ``current -> target`` is allowed."""
    return target in TRANSITIONS.get(current, frozenset())


def transition(current: str, target: str, *, action: str) -> str:
    """``target`` when ``current -> target`` is allowed; else :class:`InvalidTransition`."""
    if not can_transition(current, target):
        raise InvalidTransition(
            f"cannot {action} a subscription that is {current}",
            status_from=current,
            status_to=target,
        )
    return target


def require_status(current: str, allowed: frozenset[str], *, action: str) -> None:
    """:class:`InvalidTransition` unless ``current`` is one of ``allowed``."""
    if current not in allowed:
        raise InvalidTransition(
            f"cannot {action} a subscription that is {current}", status_from=current
        )

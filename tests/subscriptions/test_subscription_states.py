"""The state machine: legal transitions only."""

from __future__ import annotations

import pytest

from tollway.kernel.errors import InvalidTransition
from tollway.subscriptions.states import (
    ACTIONS,
    STATUSES,
    TRANSITIONS,
    apply,
    can_transition,
    transition,
)


def test_every_status_has_its_transitions() -> None:
    assert set(TRANSITIONS) == set(STATUSES)
    assert TRANSITIONS["expired"] == frozenset()


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        ("trialing", "active", True),
        ("trialing", "expired", True),
        ("active", "paused", True),
        ("paused", "active", True),
        ("canceled", "active", True),
        ("active", "past_due", True),
        ("past_due", "active", True),
        ("incomplete", "active", True),
        ("trialing", "paused", False),
        ("expired", "active", False),
        ("canceled", "paused", False),
        ("paused", "past_due", False),
        ("active", "trialing", False),
        ("active", "incomplete", False),
    ],
)
def test_transitions(current: str, target: str, allowed: bool) -> None:
    assert can_transition(current, target) is allowed
    if allowed:
        assert transition(current, target, action="x") == target
    else:
        with pytest.raises(InvalidTransition) as raised:
            transition(current, target, action="pause")
        assert raised.value.status == 409
        assert "that is " + current in raised.value.detail


def test_every_action_is_a_legal_transition_from_each_of_its_sources() -> None:
    for action, (sources, target) in ACTIONS.items():
        for source in sources:
            assert can_transition(source, target), (action, source)
            assert apply(action, source) == target
        for other in set(STATUSES) - sources:
            with pytest.raises(InvalidTransition):
                apply(action, other)

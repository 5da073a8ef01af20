"""Webhook tests run the app's clock at the real time (rounded to the second): the
``standardwebhooks`` library checks ``webhook-timestamp`` against the real clock,
and the injected wall clock is that same movable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from outbound_kit import MovableClock, Receiver


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as started:
        yield started

"""``time_floor``: the boundary between ids made before and after an instant."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from tollway.kernel.ids import new_id, time_floor


def test_ids_made_before_sort_below_and_after_sort_above() -> None:
    before = new_id("evt")
    time.sleep(0.002)
    floor = time_floor("evt", datetime.now(UTC))
    time.sleep(0.002)
    after = new_id("evt")
    assert before < floor < after


def test_floors_order_like_their_instants() -> None:
    at = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert time_floor("evt", at) < time_floor("evt", at + timedelta(microseconds=1))
    assert time_floor("evt", at).startswith("evt_")
    assert len(time_floor("evt", at)) == len("evt_") + 10

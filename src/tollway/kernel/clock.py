"""The only source of "now" for domain code: a system clock, or a persisted test clock.

A customer created with a test clock lives on that clock: every "now" computed for
that customer is the clock's ``frozen_time``, which only moves when advanced.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tollway.kernel.db import Base
from tollway.kernel.errors import NotFound


class Clock(Protocol):
    """Something that says what time it is, as an aware UTC datetime."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real time."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for tests and for test-clock time."""

    def __init__(self, at: datetime) -> None:
        self._at = ensure_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = ensure_utc(at)


def ensure_utc(value: datetime) -> datetime:
    """``value`` as aware UTC; naive input is refused rather than guessed."""
    if value.tzinfo is None:
        raise ValueError("naive datetime; give an explicit UTC offset")
    return value.astimezone(UTC)


class TestClock(Base):
    """A persisted simulated clock (test mode only)."""

    __tablename__ = "test_clocks"
    __test__ = False  # not a pytest test class

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    frozen_time: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(20), default="ready")
    created_at: Mapped[datetime]


def load_test_clock(session: Session, product_id: str, clock_id: str) -> TestClock:
    """The product's test clock ``clock_id`` or :class:`NotFound`."""
    found = session.scalar(
        select(TestClock).where(TestClock.id == clock_id, TestClock.product_id == product_id)
    )
    if found is None:
        raise NotFound(f"test clock {clock_id!r} not found", param="test_clock")
    return found

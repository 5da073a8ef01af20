"""The dunning case: one per unpaid subscription invoice, from its first failed
payment until it is paid or voided."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base, JSONType


class DunningCase(Base):
    """An unpaid invoice of a subscription and where its escalation stands."""

    __tablename__ = "dunning_cases"
    __table_args__ = (
        UniqueConstraint("product_id", "invoice_id"),
        Index(None, "product_id", "customer_id", "id"),
        Index(None, "product_id", "subscription_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    customer_external_id: Mapped[str] = mapped_column(String(255))
    test_clock_id: Mapped[str | None] = mapped_column(String(40))
    subscription_id: Mapped[str] = mapped_column(String(40))
    invoice_id: Mapped[str] = mapped_column(String(40))
    invoice_number: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(20))
    """Open: ``past_due``, ``suspended``, ``downgraded``, ``canceled``; closed:
    ``recovered`` (paid) or ``voided``."""
    attempts: Mapped[int]
    """The highest payment attempt number that failed."""
    first_failed_at: Mapped[datetime]
    last_failed_at: Mapped[datetime]
    last_failure_code: Mapped[str | None] = mapped_column(String(100))
    last_failure_message: Mapped[str | None] = mapped_column(Text)
    next_retry_at: Mapped[datetime | None]
    """When payments will try again, as its last ``payment.failed`` said."""
    grace_ends: Mapped[datetime]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    """The product's steps when the case opened (later settings changes do not apply)."""
    next_step: Mapped[int]
    """Index in ``steps`` of the next action; ``len(steps)`` when none is left."""
    next_action_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

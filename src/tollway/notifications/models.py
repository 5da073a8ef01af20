"""Notifications (in-app records and their channel deliveries) and alert preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base, JSONType

DEFAULT_THRESHOLDS = (80, 90, 100)


class Notification(Base):
    """One notification of a customer (or, without one, of the product's owner)."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index(None, "product_id", "customer_id", "id"),
        Index(None, "product_id", "customer_id", "type", "subject", "created_at"),
        UniqueConstraint("product_id", "customer_id", "type", "subject", "period_key"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"))
    test_clock_id: Mapped[str | None] = mapped_column(
        ForeignKey("test_clocks.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(200))
    """What the notification is about (metric and threshold, invoice, subscription):
    the same type and subject are not notified twice within the debounce window."""
    period_key: Mapped[str | None] = mapped_column(String(100))
    """For notifications that fire once per period (quota thresholds): the period
    (its start); unique with type and subject, so "once" holds under concurrency."""
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]]
    event_id: Mapped[str | None] = mapped_column(String(40))
    channels: Mapped[dict[str, Any]]
    """Per channel (in_app, email, webhook, slack): ``{"status": ..., "at": ...}``."""
    read_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class AlertPreferences(Base):
    """How a customer wants to be told: email, a webhook, Slack, quota thresholds."""

    __tablename__ = "alert_preferences"
    __table_args__ = (UniqueConstraint("customer_id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    email_notifications: Mapped[bool] = mapped_column(default=True)
    webhook_url: Mapped[str | None] = mapped_column(String(2048))
    slack_webhook: Mapped[str | None] = mapped_column(String(2048))
    alert_thresholds: Mapped[list[int]] = mapped_column(JSONType)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

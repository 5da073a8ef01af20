"""Webhook endpoints, their deliveries (one per event and endpoint) and attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.db import Base, JSONType

ENABLED, DISABLED = "enabled", "disabled"
PENDING, SUCCEEDED, FAILED = "pending", "succeeded", "failed"


class WebhookEndpoint(Base):
    """A URL that receives the product's events matching ``event_types`` patterns."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index(None, "product_id", "id"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(500))
    event_types: Mapped[list[str]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16))
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at: Mapped[datetime | None]
    secret: Mapped[str] = mapped_column(String(200))
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None]
    older_secrets: Mapped[list[dict[str, str]] | None] = mapped_column(JSONType)
    """Secrets rotated away before ``previous_secret`` that still sign until their
    expiry: ``[{"secret": ..., "expires_at": iso}]`` (expired ones are dropped)."""
    failing_since: Mapped[datetime | None]
    """Wall-clock time of the first failed attempt since the last success."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WebhookDelivery(Base):
    """One message (``webhook-id``) of one event to one endpoint, retried until done."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index(None, "endpoint_id", "id"),
        Index(None, "event_id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(40))
    event_type: Mapped[str] = mapped_column(String(100))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    test_clock_id: Mapped[str | None] = mapped_column(
        ForeignKey("test_clocks.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(Text)
    """The exact bytes sent (UTF-8), the same on every attempt."""
    dedup_key: Mapped[str | None] = mapped_column(String(100), unique=True)
    """``event:endpoint`` for deliveries made by the relay; replays have none."""
    replay: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    """In the subject's time: the customer's test clock when it has one."""
    last_response_code: Mapped[int | None]
    last_latency_ms: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class WebhookAttempt(Base):
    """One HTTP request of a delivery and how the endpoint answered."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index(None, "delivery_id", "number"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    delivery_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    number: Mapped[int]
    attempted_at: Mapped[datetime]
    """Wall-clock time, as in the ``webhook-timestamp`` header."""
    response_code: Mapped[int | None]
    latency_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(Text)
    response_excerpt: Mapped[str | None] = mapped_column(Text)

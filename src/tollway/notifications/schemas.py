"""Input and output shapes of notifications and alert preferences."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tollway.kernel.validation import INPUT_CONFIG
from tollway.notifications.models import DEFAULT_THRESHOLDS

Threshold = Annotated[int, Field(strict=True, ge=1, le=1000)]


def _sorted_unique(values: list[int]) -> list[int]:
    return sorted(set(values))


class AlertPreferencesIn(BaseModel):
    """``PUT /v1/customers/{external_id}/alert-preferences``: replaces them all."""

    model_config = INPUT_CONFIG

    email_notifications: bool = True
    webhook_url: str | None = Field(default=None, min_length=1, max_length=2048)
    slack_webhook: str | None = Field(default=None, min_length=1, max_length=2048)
    alert_thresholds: Annotated[
        list[Threshold], Field(max_length=10), AfterValidator(_sorted_unique)
    ] = Field(default_factory=lambda: list(DEFAULT_THRESHOLDS))


class AlertPreferencesOut(BaseModel):
    customer_id: str
    email_notifications: bool
    webhook_url: str | None
    slack_webhook: str | None
    alert_thresholds: list[int]


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str | None
    type: str
    title: str
    message: str
    data: dict[str, Any]
    event_id: str | None
    channels: dict[str, Any]
    read: bool
    read_at: datetime | None
    created_at: datetime


class UnreadCount(BaseModel):
    unread_count: int


class NotificationSettings(BaseModel):
    """Settings section ``notifications``."""

    model_config = ConfigDict(extra="forbid")

    debounce_seconds: int = Field(default=3600, ge=0, le=30 * 86400)
    """The same type for the same subject is not notified twice within this window."""
    owner_email: str | None = Field(default=None, max_length=320)
    """Where notifications for the product's owner go (default: branding support email)."""

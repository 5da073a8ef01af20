"""Metering shapes: settings, the documented event body, and query results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tollway.kernel.validation import INPUT_CONFIG
from tollway.metering.models import UsageRejection

MAX_BATCH = 10_000


class MeteringSettings(BaseModel):
    """The ``metering`` section of product settings: the accepted time window."""

    model_config = ConfigDict(extra="forbid")

    max_past_days: int = Field(default=35, ge=0, le=3650)
    """Events older than this (on the customer's clock) need the backfill endpoint."""
    max_future_seconds: int = Field(default=300, ge=0, le=86_400)
    """Clock skew allowed for events stamped in the future."""


class UsageEventIn(BaseModel):
    """A usage event (documentation of the body; the API validates it by hand).

    ``quantity`` defaults to 1; a JSON number or a decimal string of at most 18
    significant digits. ``timestamp`` defaults to now on the customer's clock.
    ``event_id`` is the idempotency key (one is generated when absent).
    """

    model_config = INPUT_CONFIG

    customer_id: str = Field(max_length=255, description="The customer's external id")
    metric: str = Field(max_length=255, description="A billable metric code")
    quantity: str | int | float | None = Field(default=None, examples=["1.5"])
    timestamp: datetime | int | None = None
    event_id: str | None = Field(default=None, max_length=255)
    properties: dict[str, Any] | None = None


class FieldErrorOut(BaseModel):
    field: str
    message: str


class RejectedOut(BaseModel):
    index: int
    errors: list[FieldErrorOut]


class BatchOut(BaseModel):
    """``{accepted, duplicates, rejected: [{index, errors}]}``."""

    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


class EventAcceptedOut(BaseModel):
    event_id: str
    timestamp: datetime
    duplicate: bool


class RejectionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: str | None = Field(description="The external id as sent")
    metric: str | None
    event_id: str | None
    reason: str
    errors: list[FieldErrorOut]
    event: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, row: UsageRejection) -> RejectionOut:
        return cls(
            id=row.id,
            customer_id=row.external_customer_id,
            metric=row.metric_code,
            event_id=row.event_id,
            reason=row.reason,
            errors=[FieldErrorOut(**e) for e in row.errors],
            event=row.event,
            created_at=row.created_at,
        )


class PeriodOut(BaseModel):
    start: datetime
    end: datetime


class DataPointOut(BaseModel):
    date: str
    value: str


class GroupUsageOut(BaseModel):
    group: dict[str, str | None]
    total: str
    data_points: list[DataPointOut]


class UsageOut(BaseModel):
    """``{metric, period: {start, end}, total, data_points: [{date, value}]}``."""

    metric: str
    aggregation: str
    unit: str | None
    granularity: str
    period: PeriodOut
    total: str
    data_points: list[DataPointOut]
    groups: list[GroupUsageOut] | None = None


class MetricStatisticsOut(BaseModel):
    metric: str
    event_count: int
    total_quantity: str


class StatisticsOut(BaseModel):
    period: PeriodOut
    metrics: list[MetricStatisticsOut]

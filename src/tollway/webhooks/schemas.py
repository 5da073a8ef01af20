"""Input and output shapes of webhook endpoints and deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tollway.kernel.validation import INPUT_CONFIG
from tollway.webhooks.signing import secret_problem, valid_pattern


def _pattern(value: str) -> str:
    if not valid_pattern(value):
        raise ValueError(
            f"{value!r} is not an event pattern; use '*', a type such as 'invoice.paid' "
            "or a prefix such as 'subscription.*'"
        )
    return value


def _secret(value: str) -> str:
    problem = secret_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


EventPattern = Annotated[str, AfterValidator(_pattern)]
Secret = Annotated[str, AfterValidator(_secret)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]
Patterns = Annotated[list[EventPattern], Field(min_length=1, max_length=100)]


class EndpointCreate(BaseModel):
    """``POST /v1/webhook-endpoints``."""

    model_config = INPUT_CONFIG

    url: Url
    events: Patterns = Field(default_factory=lambda: ["*"])
    secret: Secret | None = None
    description: str | None = Field(default=None, max_length=500)


class EndpointUpdate(BaseModel):
    """``PATCH /v1/webhook-endpoints/{id}``: only the fields sent change."""

    model_config = INPUT_CONFIG

    url: Url | None = None
    events: Patterns | None = None
    description: str | None = Field(default=None, max_length=500)
    disabled: bool | None = None


class SecretRotate(BaseModel):
    """``POST /v1/webhook-endpoints/{id}/rotate-secret``."""

    model_config = INPUT_CONFIG

    secret: Secret | None = None


class Replay(BaseModel):
    """``POST /v1/webhook-endpoints/{id}/replay``: send a past event again."""

    model_config = INPUT_CONFIG

    event_id: str = Field(min_length=1, max_length=40)


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    url: str
    description: str | None
    events: list[str] = Field(validation_alias="event_types")
    status: str
    disabled_reason: str | None
    disabled_at: datetime | None
    secret: str
    previous_secret_expires_at: datetime | None
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    attempted_at: datetime
    response_code: int | None
    latency_ms: int
    error: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    id: str
    endpoint_id: str
    event_id: str
    event_type: str
    status: str
    attempt: int = Field(validation_alias="attempts")
    response_code: int | None = Field(validation_alias="last_response_code")
    latency_ms: int | None = Field(validation_alias="last_latency_ms")
    error: str | None = Field(validation_alias="last_error")
    next_attempt_at: datetime | None
    replay: bool
    created_at: datetime
    delivered_at: datetime | None


class DeliveryDetail(DeliveryOut):
    body: str
    attempt_log: list[AttemptOut] = Field(default_factory=list)

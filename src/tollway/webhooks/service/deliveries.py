"""Deliveries: fan events out to endpoints, attempt them, retry, replay, list."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tollway import customers
from tollway.kernel import outbound
from tollway.kernel.access import require_full_access
from tollway.kernel.clock import Clock
from tollway.kernel.context import Context
from tollway.kernel.db import json_dumps
from tollway.kernel.errors import Conflict, NotFound
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbound import http_client
from tollway.kernel.outbox import Event, record_event
from tollway.kernel.pagination import Page, PageRequest
from tollway.webhooks.events import ENDPOINT_DISABLED
from tollway.webhooks.models import (
    DISABLED,
    ENABLED,
    FAILED,
    PENDING,
    SUCCEEDED,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from tollway.webhooks.repository import WebhookRepository
from tollway.webhooks.schemas import AttemptOut, DeliveryDetail, DeliveryOut
from tollway.webhooks.service.endpoints import get_endpoint, retired_secrets
from tollway.webhooks.signing import matches, retry_delay, signature_header

log = logging.getLogger(__name__)

DELIVER_KIND = "webhooks.deliver"
FAILING_LIMIT = timedelta(days=5)
"""An endpoint failing every attempt for this long (wall clock) is disabled."""
_EXCERPT_CHARS = 1000


@dataclass(frozen=True)
class Sender:
    """How attempts are made: the real time they are stamped with, and limits."""

    wall_clock: Clock
    timeout_seconds: float
    allow_private: bool
    jitter: Callable[[], float]
    """A number in [0, 1): the share of the maximum jitter added to a retry delay."""


def _iso(event: Event) -> str:
    return event.created_at.isoformat().replace("+00:00", "Z")


def _body(event: Event) -> str:
    return json_dumps({"type": event.type, "timestamp": _iso(event), "data": event.data})


def _test_clock_of(ctx: Context, customer_id: str | None) -> str | None:
    if customer_id is None:
        return None
    try:
        return customers.get_customer_by_id(ctx, customer_id).test_clock_id
    except NotFound:
        return None


def _new_delivery(
    ctx: Context, endpoint: WebhookEndpoint, event: Event, *, replay: bool
) -> WebhookDelivery:
    test_clock_id = _test_clock_of(ctx, event.customer_id)
    now = ctx.now(test_clock_id)
    delivery = WebhookDelivery(
        id=new_id("msg"),
        product_id=ctx.product_id,
        endpoint_id=endpoint.id,
        event_id=event.id,
        event_type=event.type,
        customer_id=event.customer_id,
        test_clock_id=test_clock_id,
        body=_body(event),
        dedup_key=None if replay else f"{event.id}:{endpoint.id}",
        replay=replay,
        status=PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        updated_at=now,
    )
    WebhookRepository(ctx).add(delivery)
    _schedule(ctx, delivery, now, tag="1")
    return delivery


def _schedule(
    ctx: Context, delivery: WebhookDelivery, due: datetime, *, tag: str, manual: bool = False
) -> None:
    payload: dict[str, Any] = {"delivery_id": delivery.id, "attempt": delivery.attempts + 1}
    if manual:
        payload["manual"] = True
    enqueue(
        ctx,
        DELIVER_KIND,
        payload,
        due_at=due,
        test_clock_id=delivery.test_clock_id,
        dedup_key=f"webhook:{delivery.id}:{tag}",
        max_attempts=3,
    )


def fan_out(ctx: Context, event: Event) -> None:
    """Event consumer: one delivery per enabled endpoint whose patterns match."""
    for endpoint in WebhookRepository(ctx).enabled_endpoints():
        if matches(endpoint.event_types, event.type):
            _new_delivery(ctx, endpoint, event, replay=False)


def _secrets(endpoint: WebhookEndpoint, wall: datetime) -> list[str]:
    retired = retired_secrets(endpoint)
    still_valid = [e["secret"] for e in retired if datetime.fromisoformat(e["expires_at"]) > wall]
    return [endpoint.secret, *still_valid]


@dataclass(frozen=True)
class Prepared:
    """One attempt, ready to send: what goes on the wire."""

    delivery_id: str
    number: int
    url: str
    body: str
    headers: dict[str, str]
    wall: datetime


@dataclass(frozen=True)
class Outcome:
    code: int | None
    error: str | None
    excerpt: str | None
    latency_ms: int


def prepare_attempt(ctx: Context, payload: dict[str, Any], *, sender: Sender) -> Prepared | None:
    """Attempt ``payload["attempt"]`` of a delivery, signed now; ``None`` when a
    scheduled job is stale (another attempt was recorded since it was scheduled), the
    delivery is done or the endpoint disabled. A manual retry is never stale."""
    repo = WebhookRepository(ctx)
    delivery = repo.delivery(payload["delivery_id"], lock=True)
    if delivery is None or delivery.status != PENDING:
        return None
    if not payload.get("manual") and delivery.attempts + 1 != payload["attempt"]:
        return None
    endpoint = repo.endpoint(delivery.endpoint_id)
    if endpoint is None:
        return None
    if endpoint.status != ENABLED:
        delivery.updated_at = ctx.now(delivery.test_clock_id)
        delivery.last_error = "the endpoint is disabled"
        _fail(delivery)
        return None
    wall = sender.wall_clock.now()
    timestamp = int(wall.timestamp())
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            _secrets(endpoint, wall), delivery.id, timestamp, delivery.body
        ),
    }
    return Prepared(delivery.id, delivery.attempts + 1, endpoint.url, delivery.body, headers, wall)


def send_attempt(prepared: Prepared, *, sender: Sender) -> Outcome:
    """POST the prepared attempt (no database access): the endpoint's answer."""
    started = time.monotonic()
    try:
        with http_client(sender.timeout_seconds) as client:
            response = outbound.post(
                client,
                prepared.url,
                allow_private=sender.allow_private,
                content=prepared.body.encode(),
                headers=prepared.headers,
                deadline_seconds=sender.timeout_seconds,
            )
    except outbound.Refused as exc:
        return Outcome(None, f"not sent: {exc}", None, 0)
    except Exception as exc:  # every failure, whatever its kind, is the attempt's outcome
        latency = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(exc).__name__}: {exc}"[:_EXCERPT_CHARS], None, latency)
    latency = int((time.monotonic() - started) * 1000)
    return Outcome(response.status_code, None, response.text[:_EXCERPT_CHARS], latency)


def complete_attempt(
    ctx: Context,
    payload: dict[str, Any],
    prepared: Prepared,
    outcome: Outcome,
    *,
    sender: Sender,
) -> None:
    """Record the attempt under the next free number (attempts overlapping, e.g. a
    manual retry during a scheduled one, each get their own), then finish the
    delivery or schedule the next attempt."""
    repo = WebhookRepository(ctx)
    delivery = repo.delivery(prepared.delivery_id, lock=True)
    if delivery is None:
        return
    endpoint = repo.endpoint(delivery.endpoint_id, lock=True)
    if endpoint is None:
        return
    now = ctx.now(delivery.test_clock_id)
    number = delivery.attempts + 1
    repo.add(
        WebhookAttempt(
            id=new_id("wha"),
            product_id=ctx.product_id,
            delivery_id=delivery.id,
            number=number,
            attempted_at=prepared.wall,
            response_code=outcome.code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        )
    )
    delivery.attempts = number
    delivery.last_response_code = outcome.code
    delivery.last_latency_ms = outcome.latency_ms
    delivery.updated_at = now
    if outcome.code is not None and 200 <= outcome.code < 300:
        delivery.status = SUCCEEDED
        delivery.last_error = None
        delivery.delivered_at = now
        delivery.next_attempt_at = None
        endpoint.failing_since = None
        return
    if delivery.status != PENDING:
        return  # an overlapping attempt already finished the delivery
    delivery.last_error = outcome.error or f"the endpoint answered HTTP {outcome.code}"
    _after_failure(ctx, endpoint, delivery, code=outcome.code, wall=prepared.wall, sender=sender)


def _after_failure(
    ctx: Context,
    endpoint: WebhookEndpoint,
    delivery: WebhookDelivery,
    *,
    code: int | None,
    wall: datetime,
    sender: Sender,
) -> None:
    """Disable the endpoint (410, or failing for 5 days), or schedule the next try."""
    endpoint.failing_since = endpoint.failing_since or wall
    if code == 410:
        _fail(delivery)
        _auto_disable(ctx, endpoint, "the endpoint answered 410 Gone")
        return
    if wall - endpoint.failing_since >= FAILING_LIMIT:
        _fail(delivery)
        _auto_disable(ctx, endpoint, "every attempt failed for 5 days")
        return
    delay = retry_delay(delivery.attempts, sender.jitter())
    if delay is None:
        _fail(delivery)
        return
    delivery.next_attempt_at = ctx.now(delivery.test_clock_id) + delay
    _schedule(ctx, delivery, delivery.next_attempt_at, tag=str(delivery.attempts + 1))


def _fail(delivery: WebhookDelivery) -> None:
    delivery.status = FAILED
    delivery.next_attempt_at = None


def _auto_disable(ctx: Context, endpoint: WebhookEndpoint, reason: str) -> None:
    if endpoint.status == DISABLED:
        return
    endpoint.status = DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = ctx.now()
    endpoint.updated_at = ctx.now()
    log.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
    record_event(
        ctx,
        ENDPOINT_DISABLED,
        {"id": endpoint.id, "url": endpoint.url, "reason": reason},
    )


def _delivery_of(ctx: Context, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    get_endpoint(ctx, endpoint_id)
    delivery = WebhookRepository(ctx).delivery(delivery_id, lock=True)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"delivery {delivery_id!r} not found", param="delivery_id")
    return delivery


def list_deliveries(
    ctx: Context, endpoint_id: str, page: PageRequest, *, status: str | None = None
) -> Page[WebhookDelivery]:
    """The endpoint's deliveries, newest first, optionally of one status."""
    get_endpoint(ctx, endpoint_id)
    return WebhookRepository(ctx).deliveries(endpoint_id, page, status=status)


def get_delivery(ctx: Context, endpoint_id: str, delivery_id: str) -> DeliveryDetail:
    """A delivery with its body and every attempt."""
    delivery = _delivery_of(ctx, endpoint_id, delivery_id)
    attempts = WebhookRepository(ctx).attempts(delivery.id)
    return DeliveryDetail(
        **DeliveryOut.model_validate(delivery).model_dump(),
        body=delivery.body,
        attempt_log=[AttemptOut.model_validate(a) for a in attempts],
    )


def retry_delivery(ctx: Context, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
    """Attempt the delivery again now (also a failed or succeeded one)."""
    delivery = _delivery_of(ctx, endpoint_id, delivery_id)
    endpoint = get_endpoint(ctx, endpoint_id)
    if endpoint.status != ENABLED:
        raise Conflict(f"webhook endpoint {endpoint_id} is disabled; enable it first")
    now = ctx.now(delivery.test_clock_id)
    delivery.status = PENDING
    delivery.next_attempt_at = now
    delivery.updated_at = now
    _schedule(ctx, delivery, now, tag=f"manual:{new_id('r')}", manual=True)
    return delivery


def replay_event(ctx: Context, endpoint_id: str, event_id: str) -> WebhookDelivery:
    """Send a past event of the product to the endpoint again, as a new message."""
    require_full_access(ctx, "replay events")
    endpoint = get_endpoint(ctx, endpoint_id)
    if endpoint.status != ENABLED:
        raise Conflict(f"webhook endpoint {endpoint_id} is disabled; enable it first")
    event = WebhookRepository(ctx).event(event_id)
    if event is None:
        raise NotFound(f"event {event_id!r} not found", param="event_id")
    return _new_delivery(ctx, endpoint, event, replay=True)


def fail_stalled_delivery(ctx: Context, delivery_id: str, *, reason: str) -> bool:
    """Mark a delivery whose job failed for good as failed with ``reason``; ``False``
    when it is no longer pending (a later attempt or a manual retry took over)."""
    delivery = WebhookRepository(ctx).delivery(delivery_id, lock=True)
    if delivery is None or delivery.status != PENDING:
        return False
    delivery.last_error = f"the delivery job failed: {reason}"[:_EXCERPT_CHARS]
    delivery.updated_at = ctx.now(delivery.test_clock_id)
    _fail(delivery)
    return True

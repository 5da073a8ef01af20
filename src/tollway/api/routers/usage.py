"""``/v1/usage``: usage ingestion (single, batch, backfill), refusals and usage queries.

Ingestion bodies are read by hand (exact decimals for JSON numbers, no Pydantic
model per event: see docs/benchmarks.md); OpenAPI still documents their shape.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import Path, Query, Request, Response
from fastapi.responses import JSONResponse

from tollway import customers, metering, quotas
from tollway.api.deps import Ctx, PageDep
from tollway.api.problems import PROBLEM_JSON
from tollway.api.routing import commit_after, resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.context import Context
from tollway.kernel.errors import PROBLEM_BASE, FieldError, ValidationFailed

router = resource_router("usage")
ExternalIdPath = Annotated[str, Path(max_length=255)]


_EVENT_SCHEMA = metering.UsageEventIn.model_json_schema()
_BATCH_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["events"],
    "properties": {
        "events": {"type": "array", "maxItems": metering.MAX_BATCH, "items": _EVENT_SCHEMA}
    },
}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


async def _json(request: Request) -> Any:
    try:
        return metering.loads(await request.body())
    except (ValueError, UnicodeDecodeError) as exc:
        raise metering.MalformedBody(f"the request body is not valid JSON: {exc}") from None


def _events_of(body: Any) -> list[Any]:
    if not isinstance(body, dict):
        raise ValidationFailed.field("body", 'must be a JSON object {"events": [...]}')
    unknown = [key for key in body if key != "events"]
    if unknown:
        raise ValidationFailed([FieldError(str(key), "unknown field") for key in unknown])
    events = body.get("events")
    if not isinstance(events, list):
        raise ValidationFailed.field("events", "must be a list of events")
    if len(events) > metering.MAX_BATCH:
        raise ValidationFailed.field(
            "events", f"holds {len(events)} events; at most {metering.MAX_BATCH} per batch"
        )
    return events


def _batch_out(result: metering.IngestResult) -> metering.BatchOut:
    return metering.BatchOut.model_validate(
        {
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "rejected": [
                {
                    "index": r.index,
                    "errors": [{"field": e.field, "message": e.message} for e in r.errors],
                }
                for r in result.rejected
            ],
        }
    )


@router.post(
    "/usage",
    status_code=202,
    openapi_extra=_body(_EVENT_SCHEMA),
    responses={422: {"description": "The event was refused (and recorded when well-formed)"}},
)
async def send_usage(ctx: Ctx, request: Request) -> Response:
    """Record one usage event; a duplicate ``event_id`` is accepted and counted once."""
    body = await _json(request)
    if not isinstance(body, dict):
        raise ValidationFailed.field("body", "must be a JSON object (one usage event)")
    result = await commit_after(_ingest, ctx, [body])
    if result.rejected:
        errors = result.rejected[0].errors
        if not result.recorded:
            raise ValidationFailed(errors)  # malformed: nothing was written
        detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
        return JSONResponse(
            {
                "type": PROBLEM_BASE + "usage_rejected",
                "title": "Usage event refused",
                "status": 422,
                "detail": detail,
                "instance": request.url.path,
                "errors": [{"field": e.field, "message": e.message} for e in errors],
            },
            status_code=422,
            media_type=PROBLEM_JSON,
        )
    event_id = result.event_ids[0]
    timestamp = result.timestamps[0]
    assert event_id is not None
    assert timestamp is not None
    out = metering.EventAcceptedOut(
        event_id=event_id, timestamp=timestamp, duplicate=event_id in result.duplicate_ids
    )
    return JSONResponse(out.model_dump(mode="json"), status_code=202)


@router.post("/usage/batch", openapi_extra=_body(_BATCH_SCHEMA))
async def send_usage_batch(ctx: Ctx, request: Request) -> metering.BatchOut:
    """Record up to 10,000 events; each refused event is listed with its reasons."""
    events = _events_of(await _json(request))
    return _batch_out(await commit_after(_ingest, ctx, events))


@router.post("/usage/backfill", openapi_extra=_body(_BATCH_SCHEMA))
async def backfill_usage(ctx: Ctx, request: Request) -> metering.BatchOut:
    """Secret keys only: record events older than the window (timestamps required)."""
    events = _events_of(await _json(request))
    return _batch_out(await commit_after(_backfill, ctx, events))


def _backfill(ctx: Context, events: list[Any]) -> metering.IngestResult:
    return _ingest(ctx, events, backfill=True)


def _ingest(ctx: Context, events: list[Any], *, backfill: bool = False) -> metering.IngestResult:
    """Ingest, flagging the quota counters the accepted events add to for a recount."""
    return metering.ingest(ctx, events, backfill=backfill, before_write=quotas.usage_arriving)


@router.get("/usage/rejections")
def list_rejections(ctx: Ctx, page: PageDep) -> ListOut[metering.RejectionOut]:
    """Refused well-formed events, newest first, with the reasons."""
    return ListOut.of(metering.list_rejections(ctx, page), metering.RejectionOut.of)


def _period(
    start_date: date | None, end_date: date | None, zone: str, now: datetime
) -> tuple[datetime, datetime]:
    """``[start_date 00:00, end_date + 1 day 00:00)`` in ``zone``; this month by default."""
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    first = start_date or today.replace(day=1)
    last = end_date or today
    if last < first:
        raise ValidationFailed.field("end_date", "must not be before start_date")
    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return start, end


def _filters(raw: list[str] | None) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in raw or []:
        name, sep, value = item.partition(":")
        if not sep or not name:
            raise ValidationFailed.field("filter", f"{item!r} is not property:value")
        filters.setdefault(name, []).append(value)
    return filters


_OUTPUT_PLACES = Decimal("1e-18")


def _text(value: Decimal) -> str:
    """A decimal string with at most 18 decimal places (half-even), no exponent.

    Only ``weighted_sum`` values (value-seconds / 3600) ever have more places.
    """
    rounded = value.quantize(_OUTPUT_PLACES, rounding=ROUND_HALF_EVEN)
    return format(rounded.normalize(), "f") if rounded else "0"


@router.get("/customers/{external_id}/usage")
def customer_usage(
    ctx: Ctx,
    external_id: ExternalIdPath,
    *,
    metric: Annotated[str, Query(max_length=100)],
    start_date: date | None = None,
    end_date: Annotated[date | None, Query(description="Inclusive")] = None,
    granularity: metering.Granularity = "day",
    group_by: Annotated[list[str] | None, Query()] = None,
    filter: Annotated[list[str] | None, Query(description="property:value, repeatable")] = None,
) -> metering.UsageOut:
    """A customer's usage of one metric per hour, day, week or month (their time zone)."""
    customer = customers.get_customer(ctx, external_id)
    start, end = _period(start_date, end_date, customer.timezone, ctx.now(customer.test_clock_id))
    result = metering.usage(
        ctx,
        customer,
        metric,
        start=start,
        end=end,
        granularity=granularity,
        filters=_filters(filter),
        group_by=group_by or [],
    )
    return metering.UsageOut.model_validate(
        {
            "metric": result.metric.code,
            "aggregation": result.metric.aggregation,
            "unit": result.metric.unit,
            "granularity": granularity,
            "period": {"start": result.start, "end": result.end},
            "total": _text(result.total),
            "data_points": [{"date": d, "value": _text(v)} for d, v in result.points],
            "groups": None
            if result.groups is None
            else [
                {
                    "group": g.group,
                    "total": _text(g.total),
                    "data_points": [{"date": d, "value": _text(v)} for d, v in g.points],
                }
                for g in result.groups
            ],
        }
    )


def _statistics(
    stats: list[metering.MetricStatistics], start: datetime, end: datetime
) -> metering.StatisticsOut:
    return metering.StatisticsOut.model_validate(
        {
            "period": {"start": start, "end": end},
            "metrics": [
                {
                    "metric": s.metric,
                    "event_count": s.event_count,
                    "total_quantity": _text(s.total_quantity),
                }
                for s in stats
            ],
        }
    )


@router.get("/customers/{external_id}/usage/statistics")
def customer_usage_statistics(
    ctx: Ctx,
    external_id: ExternalIdPath,
    start_date: date | None = None,
    end_date: Annotated[date | None, Query(description="Inclusive")] = None,
) -> metering.StatisticsOut:
    """Per metric: events counted and their total value, for a date range."""
    customer = customers.get_customer(ctx, external_id)
    start, end = _period(start_date, end_date, customer.timezone, ctx.now(customer.test_clock_id))
    stats = metering.usage_statistics(ctx, start=start, end=end, customer=customer)
    return _statistics(stats, start, end)


@router.get("/usage/statistics")
def usage_statistics(
    ctx: Ctx,
    start_date: date | None = None,
    end_date: Annotated[date | None, Query(description="Inclusive")] = None,
) -> metering.StatisticsOut:
    """Per metric across all customers: events counted and their total value (UTC days)."""
    start, end = _period(start_date, end_date, "UTC", ctx.now())
    return _statistics(metering.usage_statistics(ctx, start=start, end=end), start, end)

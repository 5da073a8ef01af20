"""``/v1/webhook-endpoints``: endpoints, deliveries, retries and replays."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Path, Query, Response

from tollway import webhooks
from tollway.api.deps import AppStateDep, Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut

router = resource_router("webhooks")
IdPath = Annotated[str, Path(max_length=64)]


def _out(endpoint: webhooks.WebhookEndpoint) -> webhooks.EndpointOut:
    return webhooks.EndpointOut.model_validate(endpoint)


def _delivery(delivery: webhooks.WebhookDelivery) -> webhooks.DeliveryOut:
    return webhooks.DeliveryOut.model_validate(delivery)


@router.post("/webhook-endpoints", status_code=201)
def create_endpoint(
    ctx: Ctx, state: AppStateDep, body: webhooks.EndpointCreate
) -> webhooks.EndpointOut:
    """A new endpoint receiving the events matching ``events``; the response has its
    ``secret`` (``whsec_...``) for verifying signatures."""
    allow = state.settings.allow_private_targets
    return _out(webhooks.create_endpoint(ctx, body, allow_private=allow))


@router.get("/webhook-endpoints")
def list_endpoints(ctx: Ctx, page: PageDep) -> ListOut[webhooks.EndpointOut]:
    """Endpoints, newest first."""
    return ListOut.of(webhooks.list_endpoints(ctx, page), _out)


@router.get("/webhook-endpoints/{endpoint_id}")
def get_endpoint(ctx: Ctx, endpoint_id: IdPath) -> webhooks.EndpointOut:
    """One endpoint."""
    return _out(webhooks.get_endpoint(ctx, endpoint_id))


@router.patch("/webhook-endpoints/{endpoint_id}")
def update_endpoint(
    ctx: Ctx, state: AppStateDep, endpoint_id: IdPath, body: webhooks.EndpointUpdate
) -> webhooks.EndpointOut:
    """Change url, events, description, or ``disabled``."""
    allow = state.settings.allow_private_targets
    return _out(webhooks.update_endpoint(ctx, endpoint_id, body, allow_private=allow))


@router.post("/webhook-endpoints/{endpoint_id}/disable")
def disable_endpoint(ctx: Ctx, endpoint_id: IdPath) -> webhooks.EndpointOut:
    """Stop sending to the endpoint."""
    return _out(webhooks.disable_endpoint(ctx, endpoint_id))


@router.post("/webhook-endpoints/{endpoint_id}/enable")
def enable_endpoint(ctx: Ctx, endpoint_id: IdPath) -> webhooks.EndpointOut:
    """Send to the endpoint again."""
    return _out(webhooks.enable_endpoint(ctx, endpoint_id))


@router.delete("/webhook-endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(ctx: Ctx, endpoint_id: IdPath) -> Response:
    """Delete the endpoint and its delivery log."""
    webhooks.delete_endpoint(ctx, endpoint_id)
    return Response(status_code=204)


@router.post("/webhook-endpoints/{endpoint_id}/rotate-secret")
def rotate_secret(
    ctx: Ctx, endpoint_id: IdPath, body: webhooks.SecretRotate | None = None
) -> webhooks.EndpointOut:
    """A new secret; messages are signed with the old one too for 24 hours."""
    secret = body.secret if body else None
    return _out(webhooks.rotate_secret(ctx, endpoint_id, secret=secret))


@router.get("/webhook-endpoints/{endpoint_id}/deliveries")
def list_deliveries(
    ctx: Ctx,
    endpoint_id: IdPath,
    page: PageDep,
    status: Annotated[Literal["pending", "succeeded", "failed"] | None, Query()] = None,
) -> ListOut[webhooks.DeliveryOut]:
    """Deliveries to the endpoint, newest first: status, attempt, response code,
    latency and next attempt."""
    return ListOut.of(webhooks.list_deliveries(ctx, endpoint_id, page, status=status), _delivery)


@router.get("/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}")
def get_delivery(ctx: Ctx, endpoint_id: IdPath, delivery_id: IdPath) -> webhooks.DeliveryDetail:
    """One delivery with the body sent and every attempt."""
    return webhooks.get_delivery(ctx, endpoint_id, delivery_id)


@router.post("/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry", status_code=202)
def retry_delivery(ctx: Ctx, endpoint_id: IdPath, delivery_id: IdPath) -> webhooks.DeliveryOut:
    """Attempt the delivery again now (same ``webhook-id``)."""
    return _delivery(webhooks.retry_delivery(ctx, endpoint_id, delivery_id))


@router.post("/webhook-endpoints/{endpoint_id}/replay", status_code=202)
def replay_event(ctx: Ctx, endpoint_id: IdPath, body: webhooks.Replay) -> webhooks.DeliveryOut:
    """Send a past event to the endpoint again, as a new message."""
    return _delivery(webhooks.replay_event(ctx, endpoint_id, body.event_id))

"""Webhook endpoints: create, read, update, disable, delete, rotate the secret."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.outbound import url_refusal
from tollway.kernel.pagination import Page, PageRequest
from tollway.webhooks.models import DISABLED, ENABLED, WebhookEndpoint
from tollway.webhooks.repository import WebhookRepository
from tollway.webhooks.schemas import EndpointCreate, EndpointUpdate
from tollway.webhooks.signing import generate_secret

ROTATION_OVERLAP = timedelta(hours=24)
"""After a rotation the previous secret keeps signing for this long."""


def _snapshot(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "events": list(endpoint.event_types),
        "status": endpoint.status,
        "disabled_reason": endpoint.disabled_reason,
    }


def _check_url(url: str, *, allow_private: bool) -> None:
    refusal = url_refusal(url, allow_private=allow_private)
    if refusal is not None:
        raise ValidationFailed.field("url", refusal)


def _audit(
    ctx: Context, action: str, endpoint: WebhookEndpoint, before: dict[str, Any] | None
) -> None:
    audit(
        ctx,
        action,
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        before=before,
        after=_snapshot(endpoint),
    )


def create_endpoint(ctx: Context, data: EndpointCreate, *, allow_private: bool) -> WebhookEndpoint:
    """A new enabled endpoint; a secret is generated when none is given."""
    require_full_access(ctx, "manage webhook endpoints")
    _check_url(data.url, allow_private=allow_private)
    now = ctx.now()
    endpoint = WebhookEndpoint(
        id=new_id("we"),
        product_id=ctx.product_id,
        url=data.url,
        description=data.description,
        event_types=sorted(set(data.events)),
        status=ENABLED,
        secret=data.secret or generate_secret(),
        created_at=now,
        updated_at=now,
    )
    WebhookRepository(ctx).add(endpoint)
    _audit(ctx, "webhook_endpoint.create", endpoint, None)
    return endpoint


def get_endpoint(ctx: Context, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint:
    """The endpoint ``endpoint_id`` of the product, or 404."""
    require_full_access(ctx, "manage webhook endpoints")
    endpoint = WebhookRepository(ctx).endpoint(endpoint_id, lock=lock)
    if endpoint is None:
        raise NotFound(f"webhook endpoint {endpoint_id!r} not found", param="id")
    return endpoint


def list_endpoints(ctx: Context, page: PageRequest) -> Page[WebhookEndpoint]:
    """The product's endpoints, newest first."""
    require_full_access(ctx, "manage webhook endpoints")
    return WebhookRepository(ctx).endpoints(page)


def update_endpoint(
    ctx: Context, endpoint_id: str, data: EndpointUpdate, *, allow_private: bool
) -> WebhookEndpoint:
    """Change the fields sent; ``disabled`` false re-enables and forgets the failures."""
    endpoint = get_endpoint(ctx, endpoint_id, lock=True)
    before = _snapshot(endpoint)
    changes = data.model_dump(exclude_unset=True)
    for field in ("url", "events"):
        if field in changes and changes[field] is None:
            raise ValidationFailed.field(field, "may not be null")
    if data.url is not None:
        _check_url(data.url, allow_private=allow_private)
        endpoint.url = data.url
    if data.events is not None:
        endpoint.event_types = sorted(set(data.events))
    if "description" in changes:
        endpoint.description = data.description
    if data.disabled is True and endpoint.status == ENABLED:
        _disable(ctx, endpoint, "disabled by request")
    elif data.disabled is False and endpoint.status == DISABLED:
        endpoint.status = ENABLED
        endpoint.disabled_reason = None
        endpoint.disabled_at = None
        endpoint.failing_since = None
    if _snapshot(endpoint) != before:
        endpoint.updated_at = ctx.now()
        _audit(ctx, "webhook_endpoint.update", endpoint, before)
    return endpoint


def _disable(ctx: Context, endpoint: WebhookEndpoint, reason: str) -> None:
    endpoint.status = DISABLED
    endpoint.disabled_reason = reason
    endpoint.disabled_at = ctx.now()


def disable_endpoint(ctx: Context, endpoint_id: str) -> WebhookEndpoint:
    """Stop sending to the endpoint; pending deliveries stop at their next attempt."""
    return update_endpoint(ctx, endpoint_id, EndpointUpdate(disabled=True), allow_private=True)


def enable_endpoint(ctx: Context, endpoint_id: str) -> WebhookEndpoint:
    """Send to the endpoint again (new events; retry old deliveries explicitly)."""
    return update_endpoint(ctx, endpoint_id, EndpointUpdate(disabled=False), allow_private=True)


def delete_endpoint(ctx: Context, endpoint_id: str) -> None:
    """Delete the endpoint with its deliveries and attempts."""
    endpoint = get_endpoint(ctx, endpoint_id, lock=True)
    before = _snapshot(endpoint)
    audit(
        ctx,
        "webhook_endpoint.delete",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        before=before,
        after=None,
    )
    WebhookRepository(ctx).delete(endpoint)


def retired_secrets(endpoint: WebhookEndpoint) -> list[dict[str, str]]:
    """Every secret rotated away, newest first, with its expiry (some may be expired)."""
    retired = list(endpoint.older_secrets or [])
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None:
        retired.insert(0, {"secret": endpoint.previous_secret, "expires_at": expires.isoformat()})
    return retired


def rotate_secret(ctx: Context, endpoint_id: str, *, secret: str | None = None) -> WebhookEndpoint:
    """A new signing secret; the current one (and every earlier one still within its
    24 hours) keeps signing too until it expires."""
    endpoint = get_endpoint(ctx, endpoint_id, lock=True)
    before = {**_snapshot(endpoint), "secret_rotated_at": None}
    now = ctx.now()
    endpoint.older_secrets = [
        entry
        for entry in retired_secrets(endpoint)
        if datetime.fromisoformat(entry["expires_at"]) > now
    ]
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + ROTATION_OVERLAP
    endpoint.secret = secret or generate_secret()
    endpoint.updated_at = now
    audit(
        ctx,
        "webhook_endpoint.rotate_secret",
        subject_type="webhook_endpoint",
        subject_id=endpoint.id,
        before=before,
        after={**_snapshot(endpoint), "secret_rotated_at": now.isoformat()},
    )
    return endpoint

"""In-app notifications and the customer's alert preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from tollway import notifications
from tollway.api.deps import AppStateDep, Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut

router = resource_router("notifications")
ExternalIdPath = Annotated[str, Path(max_length=255)]
IdPath = Annotated[str, Path(max_length=64)]


@router.get("/customers/{external_id}/notifications")
def list_notifications(
    ctx: Ctx, external_id: ExternalIdPath, page: PageDep, unread_only: bool = False
) -> ListOut[notifications.NotificationOut]:
    """The customer's in-app notifications, newest first."""
    found = notifications.list_notifications(ctx, external_id, page, unread_only=unread_only)
    return ListOut.of(found, lambda n: notifications.to_out(n, external_id))


@router.get("/customers/{external_id}/notifications/unread-count")
def unread_count(ctx: Ctx, external_id: ExternalIdPath) -> notifications.UnreadCount:
    """How many of the customer's notifications are unread."""
    return notifications.UnreadCount(unread_count=notifications.unread_count(ctx, external_id))


@router.post("/notifications/{notification_id}/read")
def mark_read(ctx: Ctx, notification_id: IdPath) -> notifications.NotificationOut:
    """Mark one notification read; customer keys reach only their own."""
    notification, external_id = notifications.mark_read(ctx, notification_id)
    return notifications.to_out(notification, external_id)


@router.get("/notifications")
def list_owner_notifications(
    ctx: Ctx, page: PageDep, unread_only: bool = False
) -> ListOut[notifications.NotificationOut]:
    """Notifications for the product's owner (e.g. a webhook endpoint was disabled)."""
    found = notifications.list_owner_notifications(ctx, page, unread_only=unread_only)
    return ListOut.of(found, lambda n: notifications.to_out(n, None))


@router.get("/customers/{external_id}/alert-preferences")
def get_alert_preferences(
    ctx: Ctx, external_id: ExternalIdPath
) -> notifications.AlertPreferencesOut:
    """Email, alert webhook, Slack and quota thresholds (defaults until set)."""
    return notifications.get_preferences(ctx, external_id)


@router.put("/customers/{external_id}/alert-preferences")
def put_alert_preferences(
    ctx: Ctx,
    state: AppStateDep,
    external_id: ExternalIdPath,
    body: notifications.AlertPreferencesIn,
) -> notifications.AlertPreferencesOut:
    """Replace the customer's alert preferences."""
    allow = state.settings.allow_private_targets
    return notifications.put_preferences(ctx, external_id, body, allow_private=allow)

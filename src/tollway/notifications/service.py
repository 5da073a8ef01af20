"""Notification use cases: turn events into notifications, deliver them, read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tollway import customers
from tollway.customers import Customer
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.jobs import enqueue
from tollway.kernel.outbound import url_refusal
from tollway.kernel.outbox import Event
from tollway.kernel.pagination import Page, PageRequest
from tollway.kernel.tenancy import product_by_id, read_settings
from tollway.notifications import events as types
from tollway.notifications.channels import ChannelError, Outbound, post_json, send_email
from tollway.notifications.models import DEFAULT_THRESHOLDS, AlertPreferences, Notification
from tollway.notifications.render import Brand, Email, email, message
from tollway.notifications.repository import NotificationRepository
from tollway.notifications.schemas import (
    AlertPreferencesIn,
    AlertPreferencesOut,
    NotificationOut,
    NotificationSettings,
)

SETTINGS_SECTION = "notifications"
SEND_KIND = "notifications.send"
EMAIL, WEBHOOK, SLACK, IN_APP = "email", "webhook", "slack", "in_app"


def _prefs_out(customer: Customer, prefs: AlertPreferences | None) -> AlertPreferencesOut:
    if prefs is None:
        return AlertPreferencesOut(
            customer_id=customer.external_id,
            email_notifications=True,
            webhook_url=None,
            slack_webhook=None,
            alert_thresholds=list(DEFAULT_THRESHOLDS),
        )
    return AlertPreferencesOut(
        customer_id=customer.external_id,
        email_notifications=prefs.email_notifications,
        webhook_url=prefs.webhook_url,
        slack_webhook=prefs.slack_webhook,
        alert_thresholds=list(prefs.alert_thresholds),
    )


def get_preferences(ctx: Context, external_id: str) -> AlertPreferencesOut:
    """The customer's alert preferences (the defaults until set)."""
    customer = customers.get_customer(ctx, external_id)
    return _prefs_out(customer, NotificationRepository(ctx).preferences(customer.id))


def put_preferences(
    ctx: Context, external_id: str, data: AlertPreferencesIn, *, allow_private: bool
) -> AlertPreferencesOut:
    """Replace the customer's alert preferences; URLs must be reachable public targets."""
    customer = customers.get_customer(ctx, external_id)
    for field in ("webhook_url", "slack_webhook"):
        url = getattr(data, field)
        refusal = url_refusal(url, allow_private=allow_private) if url else None
        if refusal is not None:
            raise ValidationFailed.field(field, refusal)
    repo = NotificationRepository(ctx)
    prefs = repo.preferences(customer.id, lock=True)
    before = _prefs_out(customer, prefs).model_dump()
    now = ctx.now(customer.test_clock_id)
    if prefs is None:
        prefs = AlertPreferences(
            id=new_id("apref"),
            product_id=ctx.product_id,
            customer_id=customer.id,
            created_at=now,
        )
        ctx.session.add(prefs)
    prefs.email_notifications = data.email_notifications
    prefs.webhook_url = data.webhook_url
    prefs.slack_webhook = data.slack_webhook
    prefs.alert_thresholds = list(data.alert_thresholds)
    prefs.updated_at = now
    ctx.session.flush()
    after = _prefs_out(customer, prefs)
    audit(
        ctx,
        "customer.alert_preferences.update",
        subject_type="customer",
        subject_id=customer.id,
        before=before,
        after=after.model_dump(),
        customer_id=customer.id,
        test_clock_id=customer.test_clock_id,
    )
    return after


def subject_of(notification_type: str, data: dict[str, Any]) -> str:
    """What a notification is about, for debouncing (pure)."""
    if notification_type in (types.QUOTA_WARNING, types.QUOTA_EXCEEDED):
        return f"{data.get('metric', '')}:{data.get('threshold', '')}"[:200]
    if notification_type == types.GRACE_PERIOD_STARTED:
        return str(data.get("metric") or "grace")[:200]
    for key in ("invoice_id", "payment_id", "subscription_id", "id"):
        if data.get(key):
            return str(data[key])[:200]
    return ""


def period_of(notification_type: str, data: dict[str, Any]) -> str | None:
    """The period a quota notification fires once in (the event's ``period_start``);
    ``None`` when it has none, and then the debounce window applies (pure)."""
    if notification_type not in (types.QUOTA_WARNING, types.QUOTA_EXCEEDED):
        return None
    start = data.get("period_start")
    return str(start)[:100] if start else None


def notify_event(ctx: Context, event: Event, *, outbound: Outbound) -> None:
    """Event consumer: the notification an event calls for, if any."""
    notification_type = types.NOTIFICATION_TYPES.get(event.type)
    if notification_type is None:
        return
    customer = None
    if event.customer_id is not None:
        try:
            customer = customers.get_customer_by_id(ctx, event.customer_id)
        except NotFound:
            return
    create_notification(
        ctx,
        notification_type=notification_type,
        customer=customer,
        data=event.data,
        event_id=event.id,
        outbound=outbound,
    )


def _wants(notification_type: str, data: dict[str, Any], prefs: AlertPreferencesOut) -> bool:
    if notification_type != types.QUOTA_WARNING:
        return True
    try:
        return int(str(data.get("threshold"))) in prefs.alert_thresholds
    except ValueError:
        return True


def create_notification(
    ctx: Context,
    *,
    notification_type: str,
    customer: Customer | None,
    data: dict[str, Any],
    event_id: str | None,
    outbound: Outbound,
) -> Notification | None:
    """Store an in-app notification and schedule its other channels; ``None`` when the
    customer's thresholds exclude it or the same one was sent within the window."""
    repo = NotificationRepository(ctx)
    test_clock_id = customer.test_clock_id if customer else None
    now = ctx.now(test_clock_id)
    prefs = _prefs_out(customer, repo.preferences(customer.id)) if customer else None
    if prefs is not None and not _wants(notification_type, data, prefs):
        return None
    settings = read_settings(ctx, SETTINGS_SECTION, NotificationSettings)
    subject = subject_of(notification_type, data)
    since = now - timedelta(seconds=settings.debounce_seconds)
    customer_id = customer.id if customer else None
    period = period_of(notification_type, data)
    if period is not None:
        if repo.in_period(customer_id, notification_type, subject, period):
            return None
    elif settings.debounce_seconds and repo.latest_since(
        customer_id, notification_type, subject, since
    ):
        return None
    title, body = message(notification_type, data)
    channels: dict[str, Any] = {IN_APP: {"status": "delivered", "at": now.isoformat()}}
    for channel in _channels(ctx, customer, prefs, settings, outbound):
        channels[channel] = {"status": "pending"}
    notification = Notification(
        id=new_id("ntf"),
        product_id=ctx.product_id,
        customer_id=customer_id,
        test_clock_id=test_clock_id,
        type=notification_type,
        subject=subject,
        title=title,
        message=body,
        data=data,
        event_id=event_id,
        channels=channels,
        read_at=None,
        created_at=now,
        period_key=period,
    )
    if period is None:
        repo.add(notification)
    elif not repo.add_once(notification):
        return None
    for channel in channels:
        if channel != IN_APP:
            enqueue(
                ctx,
                SEND_KIND,
                {"notification_id": notification.id, "channel": channel},
                test_clock_id=test_clock_id,
                dedup_key=f"notify:{notification.id}:{channel}",
            )
    return notification


def _channels(
    ctx: Context,
    customer: Customer | None,
    prefs: AlertPreferencesOut | None,
    settings: NotificationSettings,
    outbound: Outbound,
) -> list[str]:
    wanted: list[str] = []
    if customer is None:
        if outbound.smtp_url and _owner_email(ctx, settings):
            wanted.append(EMAIL)
        return wanted
    assert prefs is not None
    if outbound.smtp_url and prefs.email_notifications and customer.email:
        wanted.append(EMAIL)
    if prefs.webhook_url:
        wanted.append(WEBHOOK)
    if prefs.slack_webhook:
        wanted.append(SLACK)
    return wanted


def _brand(ctx: Context) -> Brand:
    product = product_by_id(ctx.session, ctx.product_id)
    return Brand.of(product.name, product.company, product.branding)


def _owner_email(ctx: Context, settings: NotificationSettings) -> str | None:
    return settings.owner_email or _brand(ctx).support_email


@dataclass(frozen=True)
class Outgoing:
    """One notification, ready to leave over one channel."""

    notification_id: str
    channel: str
    recipient: str | None = None
    sender: str | None = None
    mail: Email | None = None
    url: str | None = None
    body: dict[str, Any] | None = None


def prepare_send(ctx: Context, payload: dict[str, Any]) -> Outgoing | None:
    """What to send for one notification and channel; ``None`` when already sent or
    the channel is no longer configured."""
    notification = NotificationRepository(ctx).by_id(payload["notification_id"])
    if notification is None:
        return None
    channel = payload["channel"]
    if notification.channels.get(channel, {}).get("status") == "sent":
        return None
    customer = (
        customers.get_customer_by_id(ctx, notification.customer_id)
        if notification.customer_id
        else None
    )
    prefs = (
        _prefs_out(customer, NotificationRepository(ctx).preferences(customer.id))
        if customer
        else None
    )
    brand = _brand(ctx)
    if channel == EMAIL:
        settings = read_settings(ctx, SETTINGS_SECTION, NotificationSettings)
        recipient = customer.email if customer else _owner_email(ctx, settings)
        if not recipient:
            raise ChannelError("no recipient email address")
        mail = email(
            title=notification.title,
            body=notification.message,
            brand=brand,
            recipient_name=customer.name if customer else None,
            data=notification.data,
        )
        return Outgoing(
            notification.id, EMAIL, recipient=recipient, sender=brand.support_email, mail=mail
        )
    if channel == WEBHOOK and prefs is not None and prefs.webhook_url:
        body = _webhook_body(notification, customer, brand)
        return Outgoing(notification.id, WEBHOOK, url=prefs.webhook_url, body=body)
    if channel == SLACK and prefs is not None and prefs.slack_webhook:
        body = _slack_body(notification, brand)
        return Outgoing(notification.id, SLACK, url=prefs.slack_webhook, body=body)
    state = {"status": "skipped", "reason": "the channel is no longer configured"}
    notification.channels = {**notification.channels, channel: state}
    return None


def perform_send(outgoing: Outgoing, *, outbound: Outbound) -> None:
    """Send it (no database access); raises to be retried."""
    if outgoing.mail is not None and outgoing.recipient is not None:
        sender = outbound.smtp_from or outgoing.sender or "no-reply@localhost"
        send_email(outbound, sender=sender, recipient=outgoing.recipient, mail=outgoing.mail)
    elif outgoing.url is not None and outgoing.body is not None:
        post_json(outbound, outgoing.url, outgoing.body)


def complete_send(
    ctx: Context, payload: dict[str, Any], outgoing: Outgoing, result: object
) -> None:
    """Mark the channel sent."""
    notification = NotificationRepository(ctx).by_id(outgoing.notification_id)
    if notification is None:
        return
    sent_at = ctx.now(notification.test_clock_id).isoformat()
    channels = {**notification.channels, outgoing.channel: {"status": "sent", "at": sent_at}}
    notification.channels = channels


def fail_stalled_send(ctx: Context, notification_id: str, channel: str, *, reason: str) -> bool:
    """Mark a channel whose send job failed for good as failed with ``reason``;
    ``False`` when it is not pending (sent, skipped, or already marked)."""
    notification = NotificationRepository(ctx).by_id(notification_id)
    if notification is None or notification.channels.get(channel, {}).get("status") != "pending":
        return False
    at = ctx.now(notification.test_clock_id).isoformat()
    state = {"status": "failed", "at": at, "reason": reason[:1000]}
    notification.channels = {**notification.channels, channel: state}
    return True


def _webhook_body(
    notification: Notification, customer: Customer | None, brand: Brand
) -> dict[str, Any]:
    return {
        "id": notification.id,
        "type": notification.type,
        "customer_id": customer.external_id if customer else None,
        "title": notification.title,
        "message": notification.message,
        "data": notification.data,
        "company": brand.company_name,
        "created_at": notification.created_at.isoformat(),
    }


def _slack_body(notification: Notification, brand: Brand) -> dict[str, Any]:
    return {
        "text": f"*{notification.title}*\n{notification.message}",
        "username": brand.company_name,
    }


def to_out(notification: Notification, external_id: str | None) -> NotificationOut:
    """A notification as the API shows it (customers by external id)."""
    return NotificationOut(
        id=notification.id,
        customer_id=external_id,
        type=notification.type,
        title=notification.title,
        message=notification.message,
        data=notification.data,
        event_id=notification.event_id,
        channels=notification.channels,
        read=notification.read_at is not None,
        read_at=notification.read_at,
        created_at=notification.created_at,
    )


def list_notifications(
    ctx: Context, external_id: str, page: PageRequest, *, unread_only: bool = False
) -> Page[Notification]:
    """The customer's notifications, newest first."""
    customer = customers.get_customer(ctx, external_id)
    return NotificationRepository(ctx).of_customer(customer.id, page, unread_only=unread_only)


def list_owner_notifications(
    ctx: Context, page: PageRequest, *, unread_only: bool = False
) -> Page[Notification]:
    """The product owner's notifications (not about one customer), newest first."""
    require_full_access(ctx, "read the product's notifications")
    return NotificationRepository(ctx).of_customer(None, page, unread_only=unread_only)


def unread_count(ctx: Context, external_id: str) -> int:
    """How many of the customer's notifications are unread."""
    customer = customers.get_customer(ctx, external_id)
    return NotificationRepository(ctx).unread_count(customer.id)


def mark_read(ctx: Context, notification_id: str) -> tuple[Notification, str | None]:
    """Mark one notification read (idempotent); customer keys reach only their own."""
    notification = NotificationRepository(ctx).by_id(notification_id)
    if notification is None:
        raise NotFound(f"notification {notification_id!r} not found", param="id")
    external_id = None
    if notification.customer_id is not None:
        customer = customers.get_customer_by_id(ctx, notification.customer_id)
        external_id = customer.external_id
        if notification.read_at is None:
            notification.read_at = ctx.now(customer.test_clock_id)
    else:
        require_full_access(ctx, "read the product's notifications")
        if notification.read_at is None:
            notification.read_at = ctx.now()
    return notification, external_id

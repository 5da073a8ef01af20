"""Notifications: in-app, email (SMTP), alert webhook and Slack, debounced."""

from tollway.notifications.events import ALL_TYPES, NOTIFICATION_TYPES
from tollway.notifications.models import AlertPreferences, Notification
from tollway.notifications.schemas import (
    AlertPreferencesIn,
    AlertPreferencesOut,
    NotificationOut,
    NotificationSettings,
    UnreadCount,
)
from tollway.notifications.service import (
    SEND_KIND,
    SETTINGS_SECTION,
    fail_stalled_send,
    get_preferences,
    list_notifications,
    list_owner_notifications,
    mark_read,
    put_preferences,
    to_out,
    unread_count,
)

__all__ = [
    "ALL_TYPES",
    "NOTIFICATION_TYPES",
    "SEND_KIND",
    "SETTINGS_SECTION",
    "AlertPreferences",
    "AlertPreferencesIn",
    "AlertPreferencesOut",
    "Notification",
    "NotificationOut",
    "NotificationSettings",
    "UnreadCount",
    "fail_stalled_send",
    "get_preferences",
    "list_notifications",
    "list_owner_notifications",
    "mark_read",
    "put_preferences",
    "to_out",
    "unread_count",
]

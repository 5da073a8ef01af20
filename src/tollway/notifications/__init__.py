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
    SETTINGS_SECTION,
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
    "SETTINGS_SECTION",
    "AlertPreferences",
    "AlertPreferencesIn",
    "AlertPreferencesOut",
    "Notification",
    "NotificationOut",
    "NotificationSettings",
    "UnreadCount",
    "get_preferences",
    "list_notifications",
    "list_owner_notifications",
    "mark_read",
    "put_preferences",
    "to_out",
    "unread_count",
]

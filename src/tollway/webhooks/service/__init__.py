"""Webhook use cases: endpoints and deliveries."""

from tollway.webhooks.service.deliveries import (
    DELIVER_KIND,
    FAILING_LIMIT,
    Sender,
    complete_attempt,
    fan_out,
    get_delivery,
    list_deliveries,
    prepare_attempt,
    replay_event,
    retry_delivery,
    send_attempt,
)
from tollway.webhooks.service.endpoints import (
    ROTATION_OVERLAP,
    create_endpoint,
    delete_endpoint,
    disable_endpoint,
    enable_endpoint,
    get_endpoint,
    list_endpoints,
    rotate_secret,
    update_endpoint,
)

__all__ = [
    "DELIVER_KIND",
    "FAILING_LIMIT",
    "ROTATION_OVERLAP",
    "Sender",
    "complete_attempt",
    "create_endpoint",
    "delete_endpoint",
    "disable_endpoint",
    "enable_endpoint",
    "fan_out",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "prepare_attempt",
    "replay_event",
    "retry_delivery",
    "rotate_secret",
    "send_attempt",
    "update_endpoint",
]

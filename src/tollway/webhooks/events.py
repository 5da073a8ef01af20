"""Events the webhooks domain records."""

ENDPOINT_DISABLED = "webhook_endpoint.disabled"
"""An endpoint was disabled automatically (410 Gone, or failing for 5 days)."""

"""The events the catalog records in the outbox; ``data`` is the object's API shape.

``plan.updated`` also carries ``previous_attributes``: the old values of what changed.
"""

PLAN_CREATED = "plan.created"
PLAN_UPDATED = "plan.updated"
PLAN_ARCHIVED = "plan.archived"
METRIC_CREATED = "metric.created"
ADDON_CREATED = "addon.created"
COUPON_CREATED = "coupon.created"
CATALOG_IMPORTED = "catalog.imported"
"""A ``.product`` file changed something: ``data`` is the import's summary."""

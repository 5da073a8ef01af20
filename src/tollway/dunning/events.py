"""Event types the dunning domain records (each carries the case's snapshot)."""

DUNNING_STARTED = "dunning.started"
"""The first failed payment of a subscription's invoice opened a case."""
DUNNING_SUSPENDED = "dunning.suspended"
"""A step suspended the customer: every consume is refused until the invoice is paid."""
DUNNING_DOWNGRADED = "dunning.downgraded"
"""A step moved the subscription to the product's free (default) plan."""
DUNNING_CANCELED = "dunning.canceled"
"""A step canceled the subscription for non-payment."""
DUNNING_RECOVERED = "dunning.recovered"
"""The invoice was paid (or voided): the case is closed, service restored."""

ALL = (DUNNING_STARTED, DUNNING_SUSPENDED, DUNNING_DOWNGRADED, DUNNING_CANCELED, DUNNING_RECOVERED)

"""Quota problems."""

from tollway.kernel.errors import TollwayError


class QuotaExceeded(TollwayError):
    """A consume the quota refuses (429); carries ``used``, ``limit``, ``resets_at``."""

    status = 429
    code = "quota_exceeded"
    title = "Quota exceeded"


class CustomerSuspended(TollwayError):
    """Every consume of a suspended customer is refused until it is reinstated (403)."""

    status = 403
    code = "customer_suspended"
    title = "Customer suspended"

"""Who may act: full access (secret keys, CLI, jobs) or one customer's scope."""

from __future__ import annotations

from tollway.kernel.context import Context
from tollway.kernel.errors import Forbidden


def require_full_access(ctx: Context, action: str) -> None:
    """Refuse ``action`` to customer-scoped callers with 403."""
    if ctx.customer_scope is not None:
        raise Forbidden(f"a customer-scoped key cannot {action}; use a secret key")

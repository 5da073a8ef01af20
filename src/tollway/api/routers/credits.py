"""``/v1/customers/{external_id}/credits``: the credit balance and ledger, and admin grants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Path, Query

from tollway import ledger
from tollway.api.deps import Ctx
from tollway.api.routing import resource_router
from tollway.customers import get_customer
from tollway.kernel.errors import ValidationFailed

router = resource_router("credits")
ExternalIdPath = Annotated[str, Path(max_length=255)]


@router.get("/customers/{external_id}/credits")
def get_credits(
    ctx: Ctx,
    external_id: ExternalIdPath,
    at: Annotated[datetime | None, Query(description="An instant with offset; default now")] = None,
) -> ledger.CreditsOut:
    """The balance (live: open plan allocations burn with usage), grants and entries."""
    if at is not None and at.tzinfo is None:
        raise ValidationFailed.field("at", "must carry a UTC offset, e.g. 2026-01-15T12:00:00Z")
    customer = get_customer(ctx, external_id)
    return ledger.credit_summary(ctx, customer, at=at.astimezone(UTC) if at else None)


@router.post("/customers/{external_id}/credits", status_code=201)
def grant_credits(
    ctx: Ctx, external_id: ExternalIdPath, body: ledger.CreditGrantIn
) -> ledger.GrantOut:
    """Grant credits in the customer's currency (secret keys only)."""
    grant = ledger.grant_from_api(ctx, external_id, body)
    return ledger.GrantOut.of(grant, grant.amount)

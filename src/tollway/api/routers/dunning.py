"""``/v1/customers/{external_id}/dunning``: the customer's unpaid invoices in dunning."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from tollway import dunning
from tollway.api.deps import Ctx
from tollway.api.routing import resource_router

router = resource_router("dunning")
ExternalIdPath = Annotated[str, Path(max_length=255)]


@router.get("/customers/{external_id}/dunning")
def get_customer_dunning(
    ctx: Ctx,
    external_id: ExternalIdPath,
    include_closed: Annotated[bool, Query()] = False,
) -> dunning.CustomerDunningOut:
    """The customer's open dunning cases (with ``include_closed``, the closed ones too),
    newest first: status, attempts, grace end, and the next action and when."""
    return dunning.customer_dunning(ctx, external_id, include_closed=include_closed)

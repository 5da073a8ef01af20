"""Reading a customer's dunning cases."""

from __future__ import annotations

from tollway.customers import get_customer
from tollway.dunning.repository import DunningRepository
from tollway.dunning.schemas import CustomerDunningOut, DunningCaseOut
from tollway.kernel.context import Context
from tollway.quotas import is_suspended


def customer_dunning(
    ctx: Context, external_id: str, *, include_closed: bool = False
) -> CustomerDunningOut:
    """The customer's open cases (and closed ones when asked), newest first."""
    customer = get_customer(ctx, external_id)
    repo = DunningRepository(ctx)
    cases = [DunningCaseOut.of(c) for c in repo.of_customer(customer.id, open_only=False)]
    return CustomerDunningOut(
        customer_id=customer.external_id,
        in_dunning=any(c.open for c in cases),
        suspended=is_suspended(ctx, customer),
        data=[c for c in cases if include_closed or c.open],
    )

"""``/v1/customers``: create, read, update, list, and customer-scoped keys."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Path, Request
from pydantic import BaseModel, Field

from tollway import auth, customers
from tollway.api.deps import Ctx, PageDep
from tollway.api.routing import redact_on_replay, resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.validation import INPUT_CONFIG

router = resource_router("customers")
ExternalIdPath = Annotated[str, Path(max_length=255)]


def _out(customer: customers.Customer) -> customers.CustomerOut:
    return customers.CustomerOut.model_validate(customer)


@router.post("/customers", status_code=201)
def create_customer(ctx: Ctx, body: customers.CustomerCreate) -> customers.CustomerOut:
    """Create a customer."""
    return _out(customers.create_customer(ctx, body))


@router.get("/customers")
def list_customers(ctx: Ctx, page: PageDep) -> ListOut[customers.CustomerOut]:
    """Customers, newest first."""
    return ListOut.of(customers.list_customers(ctx, page), _out)


@router.get("/customers/{external_id}")
def get_customer(ctx: Ctx, external_id: ExternalIdPath) -> customers.CustomerOut:
    """One customer by its external id."""
    return _out(customers.get_customer(ctx, external_id))


@router.patch("/customers/{external_id}")
def update_customer(
    ctx: Ctx, external_id: ExternalIdPath, body: customers.CustomerUpdate
) -> customers.CustomerOut:
    """Change some of a customer's fields."""
    return _out(customers.update_customer(ctx, external_id, body))


class KeyCreate(BaseModel):
    model_config = INPUT_CONFIG

    name: str = Field(min_length=1, max_length=200)


class KeyOut(BaseModel):
    id: str
    name: str
    customer_id: str
    key: str = Field(description="The secret; shown only in this response.")
    created_at: datetime


@router.post("/customers/{external_id}/keys", status_code=201)
def create_customer_key(
    ctx: Ctx, request: Request, external_id: ExternalIdPath, body: KeyCreate
) -> KeyOut:
    """A key that reaches only this customer's resources (for its billing page).

    The secret is shown once: a replay under the same Idempotency-Key answers the
    same key id with ``key: null``.
    """
    redact_on_replay(request, "key")
    customer = customers.get_customer(ctx, external_id)
    issued = auth.create_customer_key(ctx, customer_id=customer.id, name=body.name)
    return KeyOut(
        id=issued.record.id,
        name=issued.record.name,
        customer_id=customer.external_id,
        key=issued.secret,
        created_at=issued.record.created_at,
    )

"""Customer use cases: create, read, update, list, and fixing the currency."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from tollway.customers.models import Customer
from tollway.customers.repository import CustomerRepository
from tollway.customers.schemas import CustomerCreate, CustomerOut, CustomerUpdate
from tollway.kernel.access import require_full_access
from tollway.kernel.audit import audit
from tollway.kernel.clock import load_test_clock
from tollway.kernel.context import Context
from tollway.kernel.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import Page, PageRequest
from tollway.kernel.tenancy import product_currency

_REQUIRED = frozenset({"currency", "timezone"})
SELF_SERVICE_FIELDS = frozenset({"name", "email", "billing_address", "tax_id"})
"""What a customer may change about itself with its own key (its billing page)."""


def _snapshot(customer: Customer) -> dict[str, Any]:
    return CustomerOut.model_validate(customer).model_dump(mode="json")


def create_customer(ctx: Context, data: CustomerCreate) -> Customer:
    """Create a customer; its ``external_id`` must be new in the product."""
    require_full_access(ctx, "create customers")
    repo = CustomerRepository(ctx)
    if repo.by_external_id(data.external_id) is not None:
        raise AlreadyExists(f"customer {data.external_id!r} already exists", param="external_id")
    test_clock_id = None
    if data.test_clock is not None:
        test_clock_id = load_test_clock(ctx.session, ctx.product_id, data.test_clock).id
    now = ctx.now(test_clock_id)
    customer = Customer(
        id=new_id("cus"),
        product_id=ctx.product_id,
        external_id=data.external_id,
        name=data.name,
        email=data.email,
        currency=data.currency or product_currency(ctx),
        timezone=data.timezone,
        country=data.country,
        tax_id=data.tax_id,
        billing_address=data.billing_address.model_dump() if data.billing_address else None,
        metadata_=dict(data.metadata),
        test_clock_id=test_clock_id,
        created_at=now,
        updated_at=now,
    )
    repo.add(customer)
    snapshot = _snapshot(customer)
    audit(
        ctx,
        "customer.create",
        subject_type="customer",
        subject_id=customer.id,
        before=None,
        after=snapshot,
        customer_id=customer.id,
        test_clock_id=test_clock_id,
    )
    record_event(
        ctx,
        "customer.created",
        snapshot,
        customer_id=customer.id,
        test_clock_id=test_clock_id,
    )
    return customer


def get_customer(ctx: Context, external_id: str) -> Customer:
    """The customer with ``external_id``; 404 when absent or out of the caller's scope."""
    customer = CustomerRepository(ctx).by_external_id(external_id)
    if customer is None:
        raise NotFound(f"customer {external_id!r} not found", param="external_id")
    return customer


def find_customers(ctx: Context, external_ids: Iterable[str]) -> dict[str, Customer]:
    """The customers among ``external_ids`` that exist and are in scope, by external id."""
    return CustomerRepository(ctx).by_external_ids(external_ids)


def get_customer_by_id(ctx: Context, customer_id: str) -> Customer:
    """The customer with internal id ``customer_id``; 404 when absent or out of scope."""
    customer = CustomerRepository(ctx).by_id(customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id!r} not found", param="customer_id")
    return customer


def update_customer(ctx: Context, external_id: str, data: CustomerUpdate) -> Customer:
    """Change the fields sent; emits ``customer.updated`` only when something changed."""
    customer = get_customer(ctx, external_id)
    changes = data.model_dump(exclude_unset=True)
    if ctx.customer_scope is not None and not changes.keys() <= SELF_SERVICE_FIELDS:
        refused = ", ".join(sorted(changes.keys() - SELF_SERVICE_FIELDS))
        raise Forbidden(f"a customer key may not change {refused}", param=refused)
    if "currency" in changes:
        CustomerRepository(ctx).lock(customer)
        if customer.currency_locked and changes["currency"] != customer.currency:
            raise Conflict(
                f"customer {external_id!r} has money recorded in {customer.currency}; "
                "its currency can no longer change",
                param="currency",
            )
    before = _snapshot(customer)
    for field, value in changes.items():
        if value is None and field in _REQUIRED:
            raise ValidationFailed.field(field, "may not be null")
        if field == "metadata":
            customer.metadata_ = value or {}
        else:
            setattr(customer, field, value)
    after = _snapshot(customer)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        customer.updated_at = ctx.now(customer.test_clock_id)
        after = _snapshot(customer)
        audit(
            ctx,
            "customer.update",
            subject_type="customer",
            subject_id=customer.id,
            before=before,
            after=after,
            customer_id=customer.id,
            test_clock_id=customer.test_clock_id,
        )
        record_event(
            ctx,
            "customer.updated",
            {**after, "previous_attributes": {k: before[k] for k in changed}},
            customer_id=customer.id,
            test_clock_id=customer.test_clock_id,
        )
    return customer


def lock_customer(ctx: Context, customer: Customer) -> None:
    """Reload ``customer`` under its row lock, held until the transaction ends."""
    CustomerRepository(ctx).lock(customer)


def lock_currency(ctx: Context, customer: Customer) -> None:
    """Fix ``customer``'s currency: money is being recorded in it (a subscription, a
    credit grant, an invoice). Takes the customer's row lock the first time and
    reloads it, so the caller reads the currency that is locked from
    ``customer.currency``; a locked currency never changes (PATCH is 409)."""
    if customer.currency_locked:
        return
    CustomerRepository(ctx).lock(customer)
    customer.currency_locked = True


def list_customers(ctx: Context, page: PageRequest) -> Page[Customer]:
    """Customers of the product, newest first."""
    return CustomerRepository(ctx).list(page)

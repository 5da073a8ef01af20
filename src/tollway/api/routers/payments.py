"""Payment methods, payment attempts, checkout and portal sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from tollway import payments
from tollway.api.deps import AppStateDep, Ctx
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut

router = resource_router("payments")
IdPath = Annotated[str, Path(max_length=64)]
ExternalIdPath = Annotated[str, Path(max_length=255)]


def get_providers(state: AppStateDep) -> payments.Providers:
    """The process's payment providers (those of its job registry)."""
    providers = state.registry.providers
    if providers is None:
        raise payments.NotConfigured("this process has no payment providers")
    return providers


ProvidersDep = Annotated[payments.Providers, Depends(get_providers)]


@router.get("/customers/{external_id}/payment-methods")
def list_payment_methods(
    ctx: Ctx, providers: ProvidersDep, external_id: ExternalIdPath
) -> ListOut[payments.PaymentMethodOut]:
    """The customer's stored payment methods, newest first."""
    customer, methods = payments.list_payment_methods(ctx, providers, external_id)
    data = [payments.PaymentMethodOut.of(m, customer.external_id) for m in methods]
    return ListOut(data=data, has_more=False)


@router.post("/customers/{external_id}/payment-methods", status_code=201)
def add_payment_method(
    ctx: Ctx,
    providers: ProvidersDep,
    external_id: ExternalIdPath,
    body: payments.PaymentMethodCreate,
) -> payments.PaymentMethodOut:
    """Attach a payment method (a client-side token) at the provider and store it."""
    customer, method = payments.add_payment_method(ctx, providers, external_id, body)
    return payments.PaymentMethodOut.of(method, customer.external_id)


@router.delete("/customers/{external_id}/payment-methods/{method_id}")
def delete_payment_method(
    ctx: Ctx, providers: ProvidersDep, external_id: ExternalIdPath, method_id: IdPath
) -> payments.PaymentMethodDeleted:
    """Detach the method at the provider and forget it."""
    method = payments.delete_payment_method(ctx, providers, external_id, method_id)
    return payments.PaymentMethodDeleted(id=method.id)


@router.get("/invoices/{invoice_id}/payment-attempts")
def list_payment_attempts(ctx: Ctx, invoice_id: IdPath) -> ListOut[payments.PaymentAttemptOut]:
    """Every try to collect the invoice, first first."""
    attempts = payments.list_attempts(ctx, invoice_id)
    return ListOut(data=[payments.PaymentAttemptOut.of(a) for a in attempts], has_more=False)


@router.post("/checkout-sessions")
def create_checkout_session(
    ctx: Ctx, providers: ProvidersDep, body: payments.CheckoutSessionCreate
) -> payments.CheckoutSessionOut:
    """A hosted checkout page that subscribes the customer to the plan."""
    session = payments.create_checkout_session(ctx, providers, body)
    return payments.CheckoutSessionOut(checkout_url=session.url, session_id=session.session_id)


@router.post("/portal-sessions")
def create_portal_session(
    ctx: Ctx, providers: ProvidersDep, body: payments.PortalSessionCreate
) -> payments.PortalSessionOut:
    """A hosted page where the customer manages cards and billing."""
    return payments.PortalSessionOut(
        portal_url=payments.create_portal_session(ctx, providers, body)
    )

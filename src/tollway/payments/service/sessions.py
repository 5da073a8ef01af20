"""Hosted pages: a checkout that starts a subscription, and the customer portal.

Reads come first; :func:`ensure_account` commits them (and the link of a provider
customer it had to create), so the session is created at the provider with no
transaction open and nothing is written after it."""

from __future__ import annotations

from tollway.catalog import Plan, get_plan
from tollway.customers import Customer, get_customer
from tollway.kernel.context import Context
from tollway.kernel.errors import ValidationFailed
from tollway.kernel.ids import new_id
from tollway.payments.errors import provider_errors
from tollway.payments.gateway import Providers
from tollway.payments.providers import CheckoutRequest, CheckoutSession, PortalRequest
from tollway.payments.schemas import CheckoutSessionCreate, PortalSessionCreate
from tollway.payments.service.methods import ensure_account
from tollway.payments.settings import payments_settings


def provider_price_id(plan: Plan, billing_cycle: str, currency: str) -> str:
    """The ``stripe_price_id`` of the plan's price for the cycle in ``currency``."""
    for spec in plan.prices:
        spec_currency = spec.get("currency") or plan.currency
        if spec["interval"] == billing_cycle and spec_currency == currency:
            price_id = spec.get("stripe_price_id")
            if price_id:
                return str(price_id)
            raise ValidationFailed.field(
                "plan_id",
                f"the {billing_cycle} {currency} price of plan {plan.code!r} has no "
                "stripe_price_id; set one on the plan's price",
            )
    raise ValidationFailed.field(
        "billing_cycle", f"plan {plan.code!r} has no {billing_cycle} price in {currency}"
    )


def create_checkout_session(
    ctx: Context, providers: Providers, data: CheckoutSessionCreate
) -> CheckoutSession:
    """A checkout page (mode subscription) for the plan's price; the provider
    customer is created first, so the completed session links back to it."""
    provider = providers.get(payments_settings(ctx).provider)
    customer = get_customer(ctx, data.customer_id)
    plan = get_plan(ctx, data.plan_id)
    price_id = provider_price_id(plan, data.billing_cycle, customer.currency)
    with provider_errors("customer_id"):
        account = ensure_account(ctx, provider, customer)
        return provider.create_checkout_session(
            CheckoutRequest(
                operation_id=new_id("chk"),
                price_id=price_id,
                client_reference_id=customer.id,
                success_url=data.success_url,
                cancel_url=data.cancel_url,
                customer_ref=account.reference,
                metadata=_metadata(customer, plan.code, data.billing_cycle),
            )
        )


def _metadata(customer: Customer, plan_code: str, billing_cycle: str) -> dict[str, str]:
    return {
        "tollway_customer_id": customer.id,
        "tollway_external_id": customer.external_id,
        "tollway_plan_id": plan_code,
        "tollway_billing_cycle": billing_cycle,
    }


def create_portal_session(ctx: Context, providers: Providers, data: PortalSessionCreate) -> str:
    """The URL of a customer portal session."""
    provider = providers.get(payments_settings(ctx).provider)
    customer = get_customer(ctx, data.customer_id)
    with provider_errors("customer_id"):
        account = ensure_account(ctx, provider, customer)
        return provider.create_portal_session(
            PortalRequest(
                operation_id=new_id("bps"),
                customer_ref=account.reference,
                return_url=data.return_url,
            )
        )

"""Payment methods: the customer at each provider, and the cards stored there.

The provider customer is created on first need and remembered in
``payment_provider_accounts``; creation is idempotent by the internal customer id,
so two requests racing to create it get the same provider customer. A customer has
exactly one default method whenever it has any, mirrored on the customer as
``default_payment_method_id`` (what a trial's end reads, below payments).
"""

from __future__ import annotations

from tollway.customers import Customer, get_customer
from tollway.kernel.context import Context
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_id
from tollway.payments.errors import provider_errors
from tollway.payments.gateway import Providers
from tollway.payments.models import ProviderAccount, StoredPaymentMethod
from tollway.payments.providers import NewCustomer, PaymentProvider
from tollway.payments.repository import PaymentRepository
from tollway.payments.schemas import PaymentMethodCreate
from tollway.payments.settings import chosen_provider, payments_settings


def ensure_account(ctx: Context, provider: PaymentProvider, customer: Customer) -> ProviderAccount:
    """The customer's account at ``provider``, created there on first need."""
    repo = PaymentRepository(ctx)
    account = repo.account(customer.id, provider.name)
    if account is not None:
        return account
    reference = provider.create_customer(
        NewCustomer(
            operation_id=customer.id,
            external_id=customer.external_id,
            name=customer.name or customer.external_id,
            email=customer.email,
            tax_id=customer.tax_id,
            metadata={"tollway_customer_id": customer.external_id},
        )
    )
    account = ProviderAccount(
        id=new_id("pacct"),
        product_id=ctx.product_id,
        customer_id=customer.id,
        provider=provider.name,
        reference=reference,
        created_at=ctx.now(customer.test_clock_id),
    )
    if not repo.insert_once(account):  # a concurrent request linked it first
        raced = repo.account(customer.id, provider.name)
        assert raced is not None
        return raced
    return account


def list_payment_methods(
    ctx: Context, providers: Providers, external_id: str
) -> tuple[Customer, list[StoredPaymentMethod]]:
    """The customer's stored methods, newest first."""
    providers.get(payments_settings(ctx).provider)  # self-hosted mode: 422
    customer = get_customer(ctx, external_id)
    return customer, PaymentRepository(ctx).methods(customer.id)


def add_payment_method(
    ctx: Context, providers: Providers, external_id: str, data: PaymentMethodCreate
) -> tuple[Customer, StoredPaymentMethod]:
    """Attach the method a client-side token stands for, at the provider, and store
    its reference, brand, last 4 digits and expiry."""
    provider = providers.get(chosen_provider(ctx, data.provider))
    customer = get_customer(ctx, external_id)
    method_id = new_id("pm")
    with provider_errors("token"):
        account = ensure_account(ctx, provider, customer)
        attached = provider.attach_payment_method(
            operation_id=method_id, customer_ref=account.reference, token=data.token
        )
    repo = PaymentRepository(ctx)
    make_default = data.set_as_default or repo.default_method(customer.id) is None
    if make_default:
        repo.clear_default(customer.id)
        customer.default_payment_method_id = method_id
    method = StoredPaymentMethod(
        id=method_id,
        product_id=ctx.product_id,
        customer_id=customer.id,
        provider=provider.name,
        reference=attached.reference,
        brand=attached.brand,
        last4=attached.last4,
        exp_month=attached.exp_month,
        exp_year=attached.exp_year,
        is_default=make_default,
        created_at=ctx.now(customer.test_clock_id),
    )
    ctx.session.add(method)
    ctx.session.flush()
    return customer, method


def delete_payment_method(
    ctx: Context, providers: Providers, external_id: str, method_id: str
) -> StoredPaymentMethod:
    """Detach the method at its provider and forget it; when it was the default, the
    newest remaining method becomes the default."""
    customer = get_customer(ctx, external_id)
    repo = PaymentRepository(ctx)
    method = repo.method(customer.id, method_id)
    if method is None:
        raise NotFound(f"payment method {method_id!r} not found", param="id")
    with provider_errors("id"):
        providers.get(method.provider).detach_payment_method(method.reference)
    ctx.session.delete(method)
    ctx.session.flush()
    if method.is_default:
        remaining = repo.methods(customer.id)
        if remaining:
            remaining[0].is_default = True
        customer.default_payment_method_id = remaining[0].id if remaining else None
    return method

"""Payment methods: the customer at each provider, and the cards stored there.

No transaction is open while a provider is called (on SQLite it would hold the
whole application's write lock for up to the provider's timeouts): each operation
reads in a short transaction that commits, calls the provider, then writes in a
new short transaction (see :func:`~tollway.kernel.db.commit_before_outside_call`).
Every provider call is idempotent, so a retried or concurrent request converges:

- the provider customer is created with the internal customer id as operation id
  and its link (``payment_provider_accounts``) commits in its own step, before
  anything else can fail; a retry reuses it;
- a method is attached with an operation id derived from (customer, token), so a
  retried request gets the same provider method back and stores it once;
- a method the provider no longer has is detached already (the adapters say so).

A customer has exactly one default method whenever it has any, mirrored on the
customer as ``default_payment_method_id`` (what a trial's end reads, below
payments); the write steps take the customer's row lock to keep it so.
"""

from __future__ import annotations

import hashlib

from tollway.customers import Customer, get_customer, lock_customer
from tollway.kernel.context import Context
from tollway.kernel.db import commit_before_outside_call
from tollway.kernel.errors import NotFound
from tollway.kernel.ids import new_id
from tollway.payments.errors import provider_errors
from tollway.payments.gateway import Providers
from tollway.payments.models import ProviderAccount, StoredPaymentMethod
from tollway.payments.providers import NewCustomer, PaymentMethod, PaymentProvider
from tollway.payments.repository import PaymentRepository
from tollway.payments.schemas import PaymentMethodCreate
from tollway.payments.settings import chosen_provider, payments_settings


def ensure_account(ctx: Context, provider: PaymentProvider, customer: Customer) -> ProviderAccount:
    """The customer's account at ``provider``, created there on first need.

    Returns with no transaction open, ready for the next provider call: the reads
    so far are committed, and so is a new account's link (a later provider error
    does not orphan the provider customer)."""
    repo = PaymentRepository(ctx)
    account = repo.account(customer.id, provider.name)
    if account is not None:
        commit_before_outside_call(ctx.session)
        return account
    created_at = ctx.now(customer.test_clock_id)
    commit_before_outside_call(ctx.session)
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
        created_at=created_at,
    )
    if not repo.insert_once(account):  # a concurrent request linked it first
        raced = repo.account(customer.id, provider.name)
        assert raced is not None
        account = raced
    commit_before_outside_call(ctx.session)
    return account


def attach_operation_id(customer_id: str, token: str) -> str:
    """The operation id of attaching ``token`` to the customer: the same on every
    retry, so the provider attaches it once."""
    digest = hashlib.sha256(f"{customer_id}\0{token}".encode()).hexdigest()
    return f"attach_{digest[:32]}"


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
    its reference, brand, last 4 digits and expiry (once, however often retried)."""
    provider = providers.get(chosen_provider(ctx, data.provider))
    customer = get_customer(ctx, external_id)
    with provider_errors("token"):
        account = ensure_account(ctx, provider, customer)
        attached = provider.attach_payment_method(
            operation_id=attach_operation_id(customer.id, data.token),
            customer_ref=account.reference,
            token=data.token,
        )
    return customer, _store_method(ctx, customer, provider.name, attached, data.set_as_default)


def _store_method(
    ctx: Context,
    customer: Customer,
    provider: str,
    attached: PaymentMethod,
    set_as_default: bool,
) -> StoredPaymentMethod:
    """The write step of attaching: the stored method (the one a retry or a
    concurrent request stored already, if any)."""
    lock_customer(ctx, customer)
    repo = PaymentRepository(ctx)
    methods = repo.methods(customer.id)
    stored = next(
        (m for m in methods if m.provider == provider and m.reference == attached.reference),
        None,
    )
    if stored is not None:
        return stored
    make_default = set_as_default or not any(m.is_default for m in methods)
    method_id = new_id("pm")
    if make_default:
        repo.clear_default(customer.id)
        customer.default_payment_method_id = method_id
    method = StoredPaymentMethod(
        id=method_id,
        product_id=ctx.product_id,
        customer_id=customer.id,
        provider=provider,
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
    return method


def delete_payment_method(
    ctx: Context, providers: Providers, external_id: str, method_id: str
) -> StoredPaymentMethod:
    """Detach the method at its provider and forget it; when it was the default, the
    newest remaining method becomes the default. A method the provider no longer
    has is forgotten all the same."""
    customer = get_customer(ctx, external_id)
    repo = PaymentRepository(ctx)
    method = repo.method(customer.id, method_id)
    if method is None:
        raise NotFound(f"payment method {method_id!r} not found", param="id")
    provider = providers.get(method.provider)
    commit_before_outside_call(ctx.session)
    with provider_errors("id"):
        provider.detach_payment_method(method.reference)
    lock_customer(ctx, customer)
    methods = repo.methods(customer.id)
    current = next((m for m in methods if m.id == method_id), None)
    if current is None:  # a concurrent request forgot it first
        return method
    ctx.session.delete(current)
    ctx.session.flush()
    if current.is_default:
        remaining = [m for m in methods if m.id != method_id]
        if remaining:
            remaining[0].is_default = True
        customer.default_payment_method_id = remaining[0].id if remaining else None
    return current

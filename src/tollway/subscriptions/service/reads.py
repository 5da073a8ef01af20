"""Reading subscriptions and their billable charges (for invoicing and quotas)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tollway.customers import get_customer, get_customer_by_id
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import Conflict
from tollway.kernel.pagination import Page, PageRequest
from tollway.subscriptions.models import Subscription, SubscriptionCharge
from tollway.subscriptions.repository import SubscriptionRepository
from tollway.subscriptions.service.common import load
from tollway.subscriptions.settings import subscription_settings
from tollway.subscriptions.states import LIVE


def get_subscription(ctx: Context, subscription_id: str) -> Subscription:
    """The subscription; 404 when absent or out of the caller's scope."""
    return load(ctx, subscription_id, lock=False)


def list_customer_subscriptions(
    ctx: Context, external_id: str, page: PageRequest
) -> Page[Subscription]:
    """The customer's subscriptions, newest first."""
    customer = get_customer(ctx, external_id)
    return SubscriptionRepository(ctx).for_customer(customer.id, page)


def current_subscription(ctx: Context, customer_id: str) -> Subscription | None:
    """The customer's (internal id) live subscription: trialing, active, past due or
    paused; the newest when the product allows several."""
    get_customer_by_id(ctx, customer_id)
    live = SubscriptionRepository(ctx).live_for_customer(customer_id, LIVE)
    return live[0] if live else None


def subscription_charges(
    ctx: Context, *, customer_id: str, uninvoiced_only: bool = True, lock: bool = False
) -> list[SubscriptionCharge]:
    """The customer's (internal id) billable charges, oldest first; by default only
    those no invoice has claimed yet. ``lock`` (uninvoiced only) takes them under row
    locks for the caller's transaction, skipping rows another transaction holds
    (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite has one writer at a time)."""
    repo = SubscriptionRepository(ctx)
    if lock:
        return repo.uninvoiced_for_update(customer_id)
    charges = repo.charges(customer_id=customer_id)
    return [c for c in charges if not uninvoiced_only or c.invoice_id is None]


def subscriptions_by_id(ctx: Context, subscription_ids: Iterable[str]) -> dict[str, Subscription]:
    """The subscriptions among ``subscription_ids`` that exist and are in scope, by id
    (one query, for batch work such as invoice runs)."""
    return {sub.id: sub for sub in SubscriptionRepository(ctx).by_ids(subscription_ids)}


def open_charges_for_update(
    ctx: Context, customer_ids: Iterable[str]
) -> dict[str, list[SubscriptionCharge]]:
    """``subscription_charges(lock=True)`` of many customers (internal ids) in one
    query: each customer's unclaimed charges, oldest first, under row locks."""
    found: dict[str, list[SubscriptionCharge]] = {c: [] for c in customer_ids}
    for charge in SubscriptionRepository(ctx).uninvoiced_for_update(*found):
        found[charge.customer_id].append(charge)
    return found


def mark_charges_invoiced(ctx: Context, claims: Mapping[str, Sequence[SubscriptionCharge]]) -> None:
    """Record that each invoice of ``claims`` (invoice id → the charges it billed)
    billed its charges, in one statement (invoicing calls this); 409 and nothing
    claimed when any of them is already on an invoice."""
    require_full_access(ctx, "invoice charges")
    claimed = SubscriptionRepository(ctx).claim_charges(claims)
    wanted = sum(len(charges) for charges in claims.values())
    if claimed != wanted:
        raise Conflict(
            f"{wanted - claimed} of {wanted} charges are already on another invoice",
            param="charges",
        )


def paused_quota_policy(ctx: Context) -> str:
    """What quotas allow a paused subscription: ``block``, ``free_plan`` or ``keep``."""
    return subscription_settings(ctx).paused_quota_policy


def charges_of(ctx: Context, subscription_id: str) -> list[SubscriptionCharge]:
    """Every charge of the subscription, oldest first."""
    sub = load(ctx, subscription_id, lock=False)
    return SubscriptionRepository(ctx).charges(subscription_id=sub.id)

"""``/v1/subscriptions``: create, read, change, cancel, retention, pause, add-ons."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from tollway import subscriptions
from tollway.api.deps import Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.context import Context
from tollway.subscriptions.schemas import EmptyBody

router = resource_router("subscriptions")
IdPath = Annotated[str, Path(max_length=64)]
ExternalIdPath = Annotated[str, Path(max_length=255)]
CodePath = Annotated[str, Path(max_length=100)]


def _out(ctx: Context, sub: subscriptions.Subscription) -> subscriptions.SubscriptionOut:
    return subscriptions.subscription_out(ctx, sub)


@router.post("/subscriptions", status_code=201)
def create_subscription(
    ctx: Ctx, body: subscriptions.SubscriptionCreate
) -> subscriptions.SubscriptionOut:
    """Subscribe a customer (by external id) to a plan (by code)."""
    return _out(ctx, subscriptions.create_subscription(ctx, body))


@router.get("/subscriptions/{subscription_id}")
def get_subscription(ctx: Ctx, subscription_id: IdPath) -> subscriptions.SubscriptionOut:
    """One subscription."""
    return _out(ctx, subscriptions.get_subscription(ctx, subscription_id))


@router.get("/customers/{external_id}/subscriptions")
def list_customer_subscriptions(
    ctx: Ctx, external_id: ExternalIdPath, page: PageDep
) -> ListOut[subscriptions.SubscriptionOut]:
    """A customer's subscriptions, newest first."""
    found = subscriptions.list_customer_subscriptions(ctx, external_id, page)
    return ListOut.of(found, lambda sub: _out(ctx, sub))


@router.get("/subscriptions/{subscription_id}/charges")
def list_charges(ctx: Ctx, subscription_id: IdPath) -> ListOut[subscriptions.ChargeOut]:
    """Everything the subscription made billable (fees, prorations, add-ons), oldest first."""
    charges = subscriptions.charges_of(ctx, subscription_id)
    return ListOut(data=[subscriptions.ChargeOut.of(c) for c in charges], has_more=False)


@router.post("/subscriptions/{subscription_id}/change")
def change_subscription(
    ctx: Ctx, subscription_id: IdPath, body: subscriptions.SubscriptionChange
) -> subscriptions.ChangeOut:
    """Change plan or cycle, now (prorated) or at period end."""
    result = subscriptions.change_plan(ctx, subscription_id, body)
    lines = [subscriptions.ChargeOut.of(line) for line in result.lines]
    return subscriptions.ChangeOut(
        subscription=_out(ctx, result.subscription),
        proration=subscriptions.ProrationOut(lines=lines, net=result.net),
    )


@router.post("/subscriptions/{subscription_id}/cancel")
def cancel_subscription(
    ctx: Ctx, subscription_id: IdPath, body: subscriptions.SubscriptionCancel
) -> subscriptions.SubscriptionOut | subscriptions.RetentionOut:
    """Cancel at period end or now; or, with ``offer_retention``, answer with offers."""
    result = subscriptions.cancel_subscription(ctx, subscription_id, body)
    if result.offers:
        return subscriptions.RetentionOut(
            subscription_id=result.subscription.id,
            offers=[subscriptions.OfferOut.of(o) for o in result.offers],
        )
    return _out(ctx, result.subscription)


@router.post("/subscriptions/{subscription_id}/offers/{offer_id}/accept")
def accept_offer(
    ctx: Ctx, subscription_id: IdPath, offer_id: IdPath, body: EmptyBody | None = None
) -> subscriptions.SubscriptionOut:
    """Take a retention offer: a discount on the next invoices, or a pause."""
    return _out(ctx, subscriptions.accept_offer(ctx, subscription_id, offer_id))


@router.post("/subscriptions/{subscription_id}/pause")
def pause_subscription(
    ctx: Ctx, subscription_id: IdPath, body: subscriptions.SubscriptionPause
) -> subscriptions.SubscriptionOut:
    """Pause billing for ``pause_months``; it resumes by itself afterwards."""
    sub = subscriptions.pause_subscription(ctx, subscription_id, pause_months=body.pause_months)
    return _out(ctx, sub)


@router.post("/subscriptions/{subscription_id}/resume")
def resume_subscription(
    ctx: Ctx, subscription_id: IdPath, body: EmptyBody | None = None
) -> subscriptions.SubscriptionOut:
    """Resume a paused subscription now, with a new period."""
    return _out(ctx, subscriptions.resume_subscription(ctx, subscription_id))


@router.post("/subscriptions/{subscription_id}/reactivate")
def reactivate_subscription(
    ctx: Ctx, subscription_id: IdPath, body: EmptyBody | None = None
) -> subscriptions.SubscriptionOut:
    """Undo a scheduled cancellation, or restart a canceled subscription."""
    return _out(ctx, subscriptions.reactivate_subscription(ctx, subscription_id))


@router.post("/subscriptions/{subscription_id}/extend-trial")
def extend_trial(
    ctx: Ctx, subscription_id: IdPath, body: subscriptions.TrialExtension
) -> subscriptions.SubscriptionOut:
    """Push a running trial's end back by ``days``."""
    return _out(ctx, subscriptions.extend_trial(ctx, subscription_id, days=body.days))


@router.post("/subscriptions/{subscription_id}/addons")
def set_addon(
    ctx: Ctx, subscription_id: IdPath, body: subscriptions.AddOnAttach
) -> subscriptions.SubscriptionOut:
    """Add an add-on or set its quantity (recurring ones are prorated)."""
    return _out(ctx, subscriptions.set_addon(ctx, subscription_id, body))


@router.delete("/subscriptions/{subscription_id}/addons/{addon_id}")
def remove_addon(
    ctx: Ctx, subscription_id: IdPath, addon_id: CodePath
) -> subscriptions.SubscriptionOut:
    """Take a recurring add-on off (its unused time is credited)."""
    return _out(ctx, subscriptions.remove_addon(ctx, subscription_id, addon_id))

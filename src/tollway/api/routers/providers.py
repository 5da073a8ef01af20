"""``/v1/providers/{stripe,asaas}/webhook``: inbound provider events.

No API key: the provider proves itself (Stripe's signature, Asaas's token). Each
delivery is one transaction, committed before the 200 answer; a rejected one
(400 bad or stale signature, 401 bad token) changes nothing."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from tollway import payments
from tollway.api.deps import AppStateDep, SessionDep
from tollway.api.routers.payments import ProvidersDep
from tollway.api.routing import resource_router
from tollway.kernel.context import Context

router = resource_router("providers", api_key=False)  # a signature or token instead


async def _receive(
    request: Request,
    state: AppStateDep,
    session: SessionDep,
    providers: payments.Providers,
    provider: str,
) -> payments.WebhookReceipt:
    body = await request.body()
    ctx = Context(
        session=session,
        product_id=state.default_product_id,
        clock=state.clock,
        actor=f"provider:{provider}",
    )
    outcome = await run_in_threadpool(
        payments.receive_webhook, ctx, providers, provider, dict(request.headers), body
    )
    return payments.WebhookReceipt(duplicate=outcome == "duplicate", outcome=outcome)


@router.post("/providers/stripe/webhook")
async def stripe_webhook(
    request: Request, state: AppStateDep, session: SessionDep, providers: ProvidersDep
) -> payments.WebhookReceipt:
    """A Stripe event, verified by its ``Stripe-Signature`` and handled once."""
    return await _receive(request, state, session, providers, "stripe")


@router.post("/providers/asaas/webhook")
async def asaas_webhook(
    request: Request, state: AppStateDep, session: SessionDep, providers: ProvidersDep
) -> payments.WebhookReceipt:
    """An Asaas event, checked by its ``asaas-access-token`` and handled once."""
    return await _receive(request, state, session, providers, "asaas")

"""One transaction per request, and ``Idempotency-Key`` replay for every POST.

:class:`UnitOfWorkRoute` opens the session before dependencies run, commits after
the endpoint succeeds (storing the response under the idempotency key in the same
transaction) and rolls back on any error, so a rejected request writes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from tollway.api.deps import PrincipalDep
from tollway.kernel.errors import ValidationFailed
from tollway.kernel.idempotency import (
    StoredResponse,
    find_response,
    lock_key,
    request_fingerprint,
    save_response,
)


@dataclass(frozen=True)
class PendingKey:
    """An idempotency key seen on this request, to store with its response."""

    product_id: str
    key: str
    fingerprint: str


class Replay(Exception):
    """Raised to short-circuit a request whose key already has a stored response."""

    def __init__(self, stored: StoredResponse) -> None:
        super().__init__("replay")
        self.stored = stored


def _replay(stored: StoredResponse) -> Response:
    return Response(
        content=stored.body,
        status_code=stored.status_code,
        media_type=stored.content_type,
        headers={"Idempotent-Replayed": "true"},
    )


async def idempotency_guard(
    request: Request,
    principal: PrincipalDep,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=255)] = None,
) -> None:
    """For a POST with a key: replay the stored response, 409 on another body."""
    if request.method != "POST" or idempotency_key is None:
        return
    if not idempotency_key.strip():
        raise ValidationFailed.field("Idempotency-Key", "must not be blank")
    fingerprint = request_fingerprint(request.method, request.url.path, await request.body())
    session = request.state.session

    def lookup() -> StoredResponse | None:
        lock_key(session, principal.product_id, idempotency_key)
        return find_response(session, principal.product_id, idempotency_key, fingerprint)

    stored = await run_in_threadpool(lookup)
    if stored is not None:
        raise Replay(stored)
    request.state.idempotency = PendingKey(principal.product_id, idempotency_key, fingerprint)


IdempotencyDep = Depends(idempotency_guard)


class UnitOfWorkRoute(APIRoute):
    """An API route whose request is one database transaction."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()

        async def handle(request: Request) -> Response:
            state = request.app.state.tollway
            session = state.session_factory()
            request.state.session = session
            request.state.idempotency = None
            try:
                try:
                    response = await endpoint(request)
                except Replay as replay:
                    await run_in_threadpool(session.rollback)
                    return _replay(replay.stored)
                pending: PendingKey | None = request.state.idempotency
                if pending is not None and response.status_code < 400:
                    stored = StoredResponse(
                        response.status_code,
                        response.headers.get("content-type", "application/json"),
                        bytes(response.body),
                    )
                    save_response(
                        session,
                        product_id=pending.product_id,
                        key=pending.key,
                        fingerprint=pending.fingerprint,
                        response=stored,
                        now=state.clock.now(),
                    )
                await run_in_threadpool(session.commit)
                return response
            except BaseException:
                await run_in_threadpool(session.rollback)
                raise
            finally:
                await run_in_threadpool(session.close)

        return handle


def resource_router(tag: str) -> APIRouter:
    """A router for one API resource: every route is one transaction."""
    return APIRouter(tags=[tag], route_class=UnitOfWorkRoute)

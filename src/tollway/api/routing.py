"""One transaction per request, and ``Idempotency-Key`` replay for every POST.

:class:`UnitOfWorkRoute` opens the session before dependencies run, commits after
the endpoint succeeds (storing the response under the idempotency key in the same
transaction) and rolls back on any error, so a rejected request writes nothing.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tollway.api.deps import PrincipalDep
from tollway.kernel.db import commit_and_close, committed_early
from tollway.kernel.errors import PayloadTooLarge, ValidationFailed
from tollway.kernel.idempotency import (
    KeyScope,
    StoredResponse,
    find_response,
    lock_key,
    request_fingerprint,
    save_response,
)


@dataclass(frozen=True)
class PendingKey:
    """An idempotency key seen on this request, to store with its response."""

    scope: KeyScope
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


def _lookup(session: Session, scope: KeyScope, fingerprint: str) -> StoredResponse | None:
    """The response stored under the key, after taking the key's lock."""
    lock_key(session, scope)
    return find_response(session, scope, fingerprint)


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
    scope = KeyScope(principal.product_id, principal.key_id, idempotency_key)
    stored = await run_in_threadpool(_lookup, session, scope, fingerprint)
    if stored is not None:
        raise Replay(stored)
    request.state.idempotency = PendingKey(scope, fingerprint)


def redact_on_replay(request: Request, *fields: str) -> None:
    """Store this response for idempotent replay without ``fields`` (secrets)."""
    request.state.redact = fields


def _stored_body(response: Response, redact: tuple[str, ...]) -> bytes:
    body = bytes(response.body)
    if not redact:
        return body
    document = json.loads(body)
    for field in redact:
        document[field] = None
    return json.dumps(document, separators=(",", ":")).encode()


def _refuse_nul(request: Request, body: bytes) -> None:
    """NUL characters cannot be stored in PostgreSQL text; refuse them everywhere."""
    if "\x00" in request.url.path:
        raise ValidationFailed.field("path", "must not contain NUL characters")
    if "\x00" in str(request.query_params) or "%00" in request.url.query:
        raise ValidationFailed.field("query", "must not contain NUL characters")
    if b"\x00" in body or b"\\u0000" in body:
        raise ValidationFailed.field("body", "must not contain NUL characters")


IdempotencyDep = Depends(idempotency_guard)

T = TypeVar("T")


async def _respond(
    endpoint: Callable[[Request], Coroutine[Any, Any, Response]],
    request: Request,
    session: Session,
) -> tuple[Response, bool]:
    """The endpoint's response and whether to commit: a replayed key's stored response
    commits nothing. A response to a POST with a key is stored under it, in the
    transaction about to commit."""
    try:
        response = await endpoint(request)
    except Replay as replay:
        return _replay(replay.stored), False
    pending: PendingKey | None = request.state.idempotency
    if pending is not None and response.status_code < 400:
        if committed_early(session):
            # The key's lock ended with the early commit: a request with the same key
            # may have answered meanwhile.
            earlier = await run_in_threadpool(_lookup, session, pending.scope, pending.fingerprint)
            if earlier is not None:
                return _replay(earlier), False
        stored = StoredResponse(
            response.status_code,
            response.headers.get("content-type", "application/json"),
            _stored_body(response, request.state.redact),
        )
        now = request.app.state.tollway.clock.now()
        save_response(session, pending.scope, pending.fingerprint, stored, now)
    return response, True


@dataclass
class _Transaction:
    """A request's transaction, which its endpoint may end on its own thread-pool hop
    (a second hop costs a thread wake-up and the wait for the event loop). It ends
    there only when no response is to be stored under an idempotency key: that one
    is stored, then committed, after the endpoint."""

    request: Request
    session: Session
    ended: bool = False

    def run(self, endpoint: Callable[..., Any], values: dict[str, Any]) -> Any:
        """A plain endpoint's result, committed on the same hop if it is a built
        response or response model; anything else (an ORM object, say) is serialized
        with the session still open."""
        result = endpoint(**values)
        if isinstance(result, BaseModel | Response):
            self._end_early()
        return result

    def then_commit(self, work: Callable[..., T], args: tuple[Any, ...]) -> T:
        """``work``'s result, committed on the same hop (:func:`commit_after`)."""
        result = work(*args)
        self._end_early()
        return result

    def _end_early(self) -> None:
        if self.request.state.idempotency is None:
            commit_and_close(self.session)
            self.ended = True


_TRANSACTION: ContextVar[_Transaction] = ContextVar("tollway_transaction")


async def commit_after(work: Callable[..., T], *args: Any) -> T:
    """For an async endpoint: ``work(*args)`` on the thread pool, and the request's
    transaction committed on the same hop (unless an idempotent response is still to
    be stored). The endpoint must not fail after it, except where ``work`` wrote
    nothing."""
    transaction = _TRANSACTION.get()
    return await run_in_threadpool(transaction.then_commit, work, args)


def _awaitable(endpoint: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    """A plain ``def`` endpoint as a coroutine that runs it on the thread pool, then
    ends the request's transaction there when it can (:class:`_Transaction`). FastAPI
    validates a plain endpoint's response on the thread pool too, another hop; a
    coroutine's it validates in the event loop (microseconds). Its signature is the
    endpoint's (``inspect.signature`` follows ``__wrapped__``)."""

    @functools.wraps(endpoint)
    async def run(**values: Any) -> Any:
        return await run_in_threadpool(_TRANSACTION.get().run, endpoint, values)

    return run


class UnitOfWorkRoute(APIRoute):
    """An API route whose request is one database transaction; a plain ``def``
    endpoint makes one trip to the thread pool (:func:`_awaitable`)."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _awaitable(endpoint)
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = super().get_route_handler()

        async def handle(request: Request) -> Response:
            state = request.app.state.tollway
            # The body is read before any transaction opens: a slow upload holds no lock.
            limit = state.settings.max_request_bytes
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise PayloadTooLarge(f"request bodies are limited to {limit} bytes")
            body = await request.body()
            if len(body) > limit:
                raise PayloadTooLarge(f"request bodies are limited to {limit} bytes")
            _refuse_nul(request, body)
            reads = request.method in ("GET", "HEAD")
            session = (state.read_session_factory if reads else state.session_factory)()
            request.state.session = session
            request.state.idempotency = None
            request.state.redact = ()
            transaction = _Transaction(request, session)
            token = _TRANSACTION.set(transaction)
            try:
                response, commit = await _respond(endpoint, request, session)
            except BaseException:
                if not transaction.ended:
                    await run_in_threadpool(session.close)  # closing rolls back
                raise
            finally:
                _TRANSACTION.reset(token)
            if transaction.ended:
                return response
            if commit:
                await run_in_threadpool(commit_and_close, session)
            else:
                await run_in_threadpool(session.close)
            return response

        return handle


def resource_router(tag: str, *, api_key: bool = True) -> APIRouter:
    """A router for one API resource under ``/v1``: every route is one transaction.
    With ``api_key`` (all but the providers' inbound webhooks) a route answers to an
    API key and replays ``Idempotency-Key``. The routes carry the prefix and the
    dependencies themselves, so the app can serve them from one flat list
    (``tollway.api.app``)."""
    return APIRouter(
        prefix="/v1",
        tags=[tag],
        route_class=UnitOfWorkRoute,
        dependencies=[IdempotencyDep] if api_key else None,
    )

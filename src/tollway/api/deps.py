"""Request dependencies: app state, the authenticated principal, the service context.

Those that do no I/O are ``async``: FastAPI runs a plain ``def`` dependency on the
thread pool, a hop that costs more than the dependency itself."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tollway.api.state import AppState
from tollway.auth import Principal, authenticate, env_principal
from tollway.kernel.context import Context
from tollway.kernel.pagination import MAX_LIMIT, PageRequest

_bearer = HTTPBearer(auto_error=False, description="A secret key (sk_...) or customer key (ck_...)")


async def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.tollway
    return state


async def get_session(request: Request) -> Session:
    session: Session = request.state.session
    return session


AppStateDep = Annotated[AppState, Depends(get_state)]
SessionDep = Annotated[Session, Depends(get_session)]


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from ``Authorization: Bearer <key>``; 401 otherwise. Only a stored
    key is looked up (on the thread pool); the environment's key needs no read. It
    takes the state and the session from the request, not as dependencies: FastAPI
    solves each dependency on every request, at a cost of its own."""
    state: AppState = request.app.state.tollway
    env_key = state.settings.api_key.get_secret_value() if state.settings.api_key else None
    token = credentials.credentials if credentials else None
    if token:
        found = env_principal(token, env_key=env_key, default_product_id=state.default_product_id)
        if found is not None:
            return found
    return await run_in_threadpool(
        authenticate,
        request.state.session,
        token,
        env_key=env_key,
        default_product_id=state.default_product_id,
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_context(request: Request, principal: PrincipalDep) -> Context:
    """The service context of this request (state and session from the request, as
    :func:`get_principal` takes them)."""
    return Context(
        session=request.state.session,
        product_id=principal.product_id,
        clock=request.app.state.tollway.clock,
        actor=principal.actor,
        customer_scope=principal.customer_id,
    )


Ctx = Annotated[Context, Depends(get_context)]


async def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 10,
    starting_after: Annotated[str | None, Query(max_length=64)] = None,
) -> PageRequest:
    """``limit`` and ``starting_after`` of a list request."""
    return PageRequest(limit=limit, starting_after=starting_after)


PageDep = Annotated[PageRequest, Depends(get_page)]

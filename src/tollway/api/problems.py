"""Every error leaves as RFC 9457 ``application/problem+json``; none as a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tollway.kernel.db import may_have_committed
from tollway.kernel.errors import PROBLEM_BASE, TollwayError, ValidationFailed

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

_HTTP_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
}


def problem(
    status: int, code: str, title: str, detail: str, request: Request, **extra: Any
) -> JSONResponse:
    """A problem+json response."""
    body = {
        "type": PROBLEM_BASE + code,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts = list(loc[1:] if loc and loc[0] in ("body", "query", "path", "header") else loc)
    path = ""
    for part in parts:
        if part == "[key]":  # the error is in a mapping's key, already named
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or (str(loc[0]) if loc else "body")


async def _tollway_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TollwayError)
    extra = dict(exc.extra)
    if isinstance(exc, ValidationFailed):
        extra["errors"] = [{"field": e.field, "message": e.message} for e in exc.errors]
    response = problem(exc.status, exc.code, exc.title, exc.detail, request, **extra)
    retry_after = extra.get("retry_after")
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return problem(
            400, "malformed_json", "Malformed JSON", "the request body is not valid JSON", request
        )
    fields = [
        {"field": _field_path(tuple(e.get("loc", ()))), "message": str(e.get("msg", ""))}
        for e in errors
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return problem(422, "validation_error", "Validation failed", detail, request, errors=fields)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, title = _HTTP_CODES.get(exc.status_code, ("http_error", "HTTP error"))
    detail = exc.detail if isinstance(exc.detail, str) else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no route {request.method} {request.url.path}"
    response = problem(exc.status_code, code, title, detail, request)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    # The service checked and a concurrent request won the race to the constraint.
    log.info("integrity conflict on %s %s: %s", request.method, request.url.path, exc)
    return problem(
        409,
        "conflict",
        "Conflict",
        "a concurrent request changed the same data; read it again and retry",
        request,
    )


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    """A lost connection (the server restarted, or dropped it) before anything was
    committed is a 503 the client can simply retry: the pool connects afresh. Any
    other database error stays unexpected (a 500, raised to the server's log)."""
    session = getattr(request.state, "session", None)
    untouched = session is None or not may_have_committed(session)
    if not (isinstance(exc, DBAPIError) and exc.connection_invalidated and untouched):
        raise exc
    log.warning("database connection lost on %s %s: %s", request.method, request.url.path, exc)
    response = problem(
        503,
        "database_unavailable",
        "Database unavailable",
        "the connection to the database was lost before anything was written; retry the request",
        request,
    )
    response.headers["Retry-After"] = "1"
    return response


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        "internal_error",
        "Internal error",
        "an unexpected error occurred; it has been logged",
        request,
    )


def install(app: FastAPI) -> None:
    """Register the problem handlers on ``app``."""
    app.add_exception_handler(TollwayError, _tollway_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected)

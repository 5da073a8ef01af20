"""One error hierarchy. Each error knows its HTTP status and problem type (RFC 9457)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

PROBLEM_BASE = "https://tollway.dev/problems/"


@dataclass(frozen=True)
class FieldError:
    """One invalid input field, named by its dotted path (``prices[0].amount``)."""

    field: str
    message: str


class TollwayError(Exception):
    """Base of every error a client may cause. Never a 500."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    @property
    def type(self) -> str:
        return PROBLEM_BASE + self.code


class Unauthorized(TollwayError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(TollwayError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(TollwayError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(TollwayError):
    status = 409
    code = "conflict"
    title = "Conflict"


class AlreadyExists(Conflict):
    code = "already_exists"
    title = "Already exists"


class InvalidTransition(Conflict):
    code = "invalid_transition"
    title = "Invalid state transition"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "Idempotency key reused with another request"


class ValidationFailed(TollwayError):
    """Input that is well-formed but wrong; lists each offending field."""

    status = 422
    code = "validation_error"
    title = "Validation failed"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field, message)])


class PayloadTooLarge(TollwayError):
    status = 413
    code = "payload_too_large"
    title = "Payload too large"


class Unprocessable(TollwayError):
    """A request the current state of the system cannot honour."""

    status = 422
    code = "unprocessable"
    title = "Unprocessable request"

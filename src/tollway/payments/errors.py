"""Provider failures as API problems (a provider exception is never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from tollway.kernel.errors import Conflict, FieldError, TollwayError, ValidationFailed
from tollway.payments.providers import (
    PaymentDeclined,
    ProviderRequestFailed,
    ProviderUnavailable,
    WebhookRejected,
)


class CardDeclined(TollwayError):
    status = 402
    code = "card_declined"
    title = "Payment method declined"


class ProviderDown(TollwayError):
    status = 503
    code = "provider_unavailable"
    title = "Payment provider unavailable"


@contextmanager
def provider_errors(field: str) -> Iterator[None]:
    """Turn the provider's refusals of a request about ``field`` into problems:
    a decline is 402, a refused request 422 naming ``field``, an outage 503."""
    try:
        yield
    except PaymentDeclined as exc:
        raise CardDeclined(exc.message, decline_code=exc.code) from exc
    except ProviderRequestFailed as exc:
        raise ValidationFailed([FieldError(field, exc.message)], f"{exc}") from exc
    except ProviderUnavailable as exc:
        raise ProviderDown(f"{exc}; try again later") from exc


class SubjectNotReady(Conflict):
    """A provider event about something Tollway does not know yet (Stripe does not
    order its events): answered 409 and rolled back, so the provider redelivers it."""

    code = "subject_not_ready"
    title = "Event subject not ready"


class MalformedObject(WebhookRejected):
    """A verified event whose object is not what its type promises (400 naming it)."""

    code = "malformed_event"
    title = "Malformed provider event"

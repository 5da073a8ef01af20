"""The parts of Stripe's event objects Tollway reads, parsed defensively.

A verified event can still carry an object of an unexpected shape (another API
version, a hand-made delivery): :func:`parse` turns it into these frozen models or
raises :class:`MalformedObject` (400 naming the field), never a ``KeyError`` or a
``TypeError`` (500). Ids of expandable fields are read whether or not they were
expanded. Invoices are read in both shapes: since API 2025-03-31 the subscription is
``parent.subscription_details.subscription`` and the payments are ``payments``;
before, ``subscription`` and ``payment_intent`` were top-level.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError

from tollway.payments.errors import MalformedObject


def _id_of(value: Any) -> Any:
    """An expandable field: its id whether it is an id or the expanded object."""
    if isinstance(value, Mapping):
        return value.get("id")
    return value


def _dict_or_empty(value: Any) -> Any:
    return {} if value is None else value


def _object_of(value: Any) -> Any:
    """An expandable field read as an object (``{"id": ...}`` when not expanded)."""
    return {"id": value} if isinstance(value, str) else value


Ref = Annotated[str | None, BeforeValidator(_id_of)]
Metadata = Annotated[dict[str, str], BeforeValidator(_dict_or_empty)]
Timestamp = Annotated[StrictInt, Field(ge=0, le=253_402_300_799)]  # up to year 9999
Amount = Annotated[StrictInt, Field(ge=0, le=2**62)]


def at(timestamp: int | None) -> datetime | None:
    return datetime.fromtimestamp(timestamp, UTC) if timestamp is not None else None


class _Object(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Price(_Object):
    id: str | None = None


class SubscriptionItem(_Object):
    price: Price | None = None
    current_period_start: Timestamp | None = None
    current_period_end: Timestamp | None = None


class SubscriptionItems(_Object):
    data: list[SubscriptionItem] = []


class CheckoutSession(_Object):
    id: str | None = None
    customer: Ref = None
    subscription: Ref = None
    client_reference_id: str | None = None
    metadata: Metadata = {}


class Subscription(_Object):
    id: str
    customer: Ref = None
    status: str | None = None
    items: SubscriptionItems = SubscriptionItems()
    current_period_start: Timestamp | None = None
    """Top-level before API 2025-03-31, on the items after."""
    current_period_end: Timestamp | None = None
    cancel_at_period_end: bool = False
    metadata: Metadata = {}

    def price_id(self) -> str | None:
        first = self.items.data[0] if self.items.data else None
        return first.price.id if first is not None and first.price is not None else None

    def period(self) -> tuple[datetime | None, datetime | None]:
        first = self.items.data[0] if self.items.data else SubscriptionItem()
        start = self.current_period_start or first.current_period_start
        end = self.current_period_end or first.current_period_end
        return at(start), at(end)


class PaymentError(_Object):
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None

    def failure_code(self) -> str | None:
        return self.decline_code or self.code


class PaymentIntent(_Object):
    id: str
    status: str | None = None
    amount: Amount | None = None
    currency: str | None = None
    metadata: Metadata = {}
    last_payment_error: PaymentError | None = None


class PaymentIntentRef(_Object):
    """A PaymentIntent named by an invoice: an id, or the expanded intent."""

    id: str
    last_payment_error: PaymentError | None = None


Intent = Annotated[PaymentIntentRef | None, BeforeValidator(_object_of)]


class InvoicePaymentTarget(_Object):
    payment_intent: Intent = None


class InvoicePayment(_Object):
    payment: InvoicePaymentTarget | None = None


class InvoicePayments(_Object):
    data: list[InvoicePayment] = []


class Period(_Object):
    start: Timestamp | None = None
    end: Timestamp | None = None


class InvoiceLine(_Object):
    period: Period | None = None


class InvoiceLines(_Object):
    data: list[InvoiceLine] = []


class SubscriptionDetails(_Object):
    subscription: Ref = None
    metadata: Metadata = {}


class InvoiceParent(_Object):
    subscription_details: SubscriptionDetails | None = None


class Invoice(_Object):
    id: str
    customer: Ref = None
    currency: str | None = None
    amount_due: Amount | None = None
    amount_paid: Amount | None = None
    period_start: Timestamp | None = None
    period_end: Timestamp | None = None
    lines: InvoiceLines = InvoiceLines()
    parent: InvoiceParent | None = None
    subscription: Ref = None
    """Before API 2025-03-31."""
    payment_intent: Intent = None
    """Before API 2025-03-31."""
    payments: InvoicePayments = InvoicePayments()
    metadata: Metadata = {}
    next_payment_attempt: Timestamp | None = None
    last_finalization_error: PaymentError | None = None

    def subscription_ref(self) -> str | None:
        details = self.parent.subscription_details if self.parent is not None else None
        if details is not None and details.subscription is not None:
            return details.subscription
        return self.subscription

    def subscription_metadata(self) -> dict[str, str]:
        details = self.parent.subscription_details if self.parent is not None else None
        return details.metadata if details is not None else {}

    def intent(self) -> PaymentIntentRef | None:
        """The latest payment's intent (``payments``), else the legacy one."""
        for payment in reversed(self.payments.data):
            if payment.payment is not None and payment.payment.payment_intent is not None:
                return payment.payment.payment_intent
        return self.payment_intent

    def period(self) -> tuple[datetime, datetime] | None:
        """What the invoice bills: its (first) line's period, else its own period."""
        spans = [(line.period.start, line.period.end) for line in self.lines.data if line.period]
        for start, end in [*spans, (self.period_start, self.period_end)]:
            if start is not None and end is not None:
                return datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC)
        return None


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``, or :class:`MalformedObject` naming the first bad field."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        error = exc.errors()[0]
        field = ".".join(["data.object", *(str(part) for part in error["loc"])])
        raise MalformedObject(f"{field}: {error['msg']}", field=field) from exc

"""Reading usage events as sent: shape, quantity, timestamp. Pure, no I/O.

The batch path validates thousands of events per request, so this is plain Python
rather than one Pydantic model per event (measured in docs/benchmarks.md).
Quantities arrive as JSON numbers (parsed exactly, as :class:`~decimal.Decimal`),
decimal strings or integers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

MAX_SIGNIFICANT_DIGITS = 18
MAX_ID_LENGTH = 255
MAX_PROPERTIES_BYTES = 8192
MAX_PROPERTIES = 50
_FIELDS = frozenset({"customer_id", "metric", "quantity", "timestamp", "event_id", "properties"})
_ONE = Decimal(1)


@dataclass(slots=True)
class EventIn:
    """A well-formed event; ``timestamp`` and ``event_id`` are None when not sent.

    Not frozen, as :class:`~tollway.metering.writes.RawEvent`: a batch makes one per
    event, and a frozen dataclass takes five times as long to make (1.3 against
    0.26 µs)."""

    customer_id: str
    metric: str
    quantity: Decimal
    timestamp: datetime | None
    event_id: str | None
    properties: dict[str, Any]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def loads(body: bytes) -> Any:
    """JSON with exact decimals; ``NaN`` and ``Infinity`` literals are refused."""
    return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)


def _as_decimal(value: object) -> Decimal | str:  # noqa: PLR0911 - one per type
    if isinstance(value, bool):
        return "must be a number, not a boolean"
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return f"{value[:40]!r} is not a decimal number"
    if isinstance(value, float):
        return Decimal(repr(value))
    return "must be a decimal number or a decimal string"


def parse_quantity(value: object) -> Decimal | str:  # noqa: PLR0911 - one reason per refusal
    """A finite decimal of at most 18 significant digits, or why not."""
    if type(value) is str and len(value) <= MAX_SIGNIFICANT_DIGITS and value.isascii():
        # the common case: a short decimal string has at most 18 digits, places and
        # integer digits (an exponent aside), so only its parse and finiteness remain
        try:
            short = Decimal(value.strip())
        except InvalidOperation:
            return f"{value[:40]!r} is not a decimal number"
        if short.is_finite() and "e" not in value and "E" not in value:
            return short
    number = _as_decimal(value)
    if isinstance(number, str):
        return number
    if not number.is_finite():
        return "must be a finite number (NaN and infinity are refused)"
    _, coefficient, exponent = number.as_tuple()
    if (
        len(coefficient) <= MAX_SIGNIFICANT_DIGITS
        and isinstance(exponent, int)
        and exponent >= -MAX_SIGNIFICANT_DIGITS
        and number.adjusted() < MAX_SIGNIFICANT_DIGITS
    ):
        return number  # the common case, decided without normalizing
    if number.is_zero():
        return Decimal(0)
    digits = number.normalize()
    _, coefficient, exponent = digits.as_tuple()
    assert isinstance(exponent, int)
    if len(coefficient) > MAX_SIGNIFICANT_DIGITS:
        return f"has more than {MAX_SIGNIFICANT_DIGITS} significant digits"
    if digits.adjusted() >= MAX_SIGNIFICANT_DIGITS:
        return f"must be less than 10^{MAX_SIGNIFICANT_DIGITS} in magnitude"
    if exponent < -MAX_SIGNIFICANT_DIGITS:
        return f"has more than {MAX_SIGNIFICANT_DIGITS} decimal places"
    return number


def parse_timestamp(value: object) -> datetime | str:  # noqa: PLR0911 - one reason each
    """An aware instant (ISO 8601 with an offset, or Unix seconds), in UTC; or why not."""
    if isinstance(value, bool):
        return "must be an ISO 8601 instant or Unix seconds"
    if isinstance(value, (int, Decimal)):
        try:
            seconds = Decimal(value)
            whole = int(seconds)
            micros = int((seconds - whole) * 1_000_000)
            return datetime.fromtimestamp(whole, UTC).replace(microsecond=micros)
        except (OverflowError, ValueError, OSError, InvalidOperation):
            return "is not a valid Unix timestamp"
    if not isinstance(value, str):
        return "must be an ISO 8601 instant or Unix seconds"
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return f"{value[:40]!r} is not an ISO 8601 instant"
    if parsed.tzinfo is None:
        return "needs a UTC offset (for example 2026-01-15T12:00:00Z)"
    return parsed.astimezone(UTC)


def _too_large(properties: dict[str, Any]) -> bool:
    """More than 50 keys or 8 KiB of JSON (measured only when it could be)."""
    if len(properties) > MAX_PROPERTIES:
        return True
    size = 0
    for key, value in properties.items():
        size += len(key) + 6
        if isinstance(value, str):
            size += len(value)
        elif isinstance(value, (dict, list)):
            size += len(json.dumps(value, default=str))
        else:
            size += 24
    return size > MAX_PROPERTIES_BYTES


def _identifier(value: object, name: str, errors: list[tuple[str, str]]) -> str:
    if not isinstance(value, str):
        errors.append((name, "must be a string"))
        return ""
    value = value.strip()
    if not value:
        errors.append((name, "must not be empty"))
    elif len(value) > MAX_ID_LENGTH:
        errors.append((name, f"must be at most {MAX_ID_LENGTH} characters"))
    return value


def parse_event(raw: object) -> EventIn | list[tuple[str, str]]:
    """An :class:`EventIn`, or the ``(field, message)`` errors of a malformed event."""
    if not isinstance(raw, dict):
        return [("", "each event must be a JSON object")]
    errors: list[tuple[str, str]] = (
        []
        if _FIELDS.issuperset(raw)
        else [(str(k), "unknown field") for k in raw if k not in _FIELDS]
    )
    customer_id = _identifier(raw.get("customer_id"), "customer_id", errors)
    metric = _identifier(raw.get("metric"), "metric", errors)
    quantity: Decimal = _ONE
    if raw.get("quantity") is not None:
        parsed_quantity = parse_quantity(raw["quantity"])
        if isinstance(parsed_quantity, str):
            errors.append(("quantity", parsed_quantity))
        else:
            quantity = parsed_quantity
    timestamp: datetime | None = None
    if raw.get("timestamp") is not None:
        parsed_time = parse_timestamp(raw["timestamp"])
        if isinstance(parsed_time, str):
            errors.append(("timestamp", parsed_time))
        else:
            timestamp = parsed_time
    event_id: str | None = None
    if raw.get("event_id") is not None:
        event_id = _identifier(raw["event_id"], "event_id", errors)
    properties = raw.get("properties")
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        errors.append(("properties", "must be a JSON object"))
        properties = {}
    elif _too_large(properties):
        errors.append(
            (
                "properties",
                f"must hold at most {MAX_PROPERTIES} keys and {MAX_PROPERTIES_BYTES} bytes of JSON",
            )
        )
    if errors:
        return errors
    return EventIn(customer_id, metric, quantity, timestamp, event_id, properties)

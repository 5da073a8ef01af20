"""Reusable Pydantic field types for API input: codes, currencies, time zones, amounts."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)

from tollway.kernel.money import UnknownCurrency, normalize_currency

INPUT_CONFIG = ConfigDict(extra="forbid", str_strip_whitespace=True)
"""Configuration of every input schema: unknown fields are an error, not ignored."""

# Real IANA zones only: "localtime" and "Factory" would make periods depend on the host.
_ZONES = frozenset(
    z
    for z in available_timezones()
    if z not in ("localtime", "Factory") and not z.startswith(("posix/", "right/"))
)
MAX_MINOR = 10**15
"""The largest amount accepted in minor units (ten trillion dollars)."""
MAX_COUNT = 2**31 - 1
MAX_DECIMAL_DIGITS = 28
MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(9000, 1, 1, tzinfo=UTC)


def _currency(value: str) -> str:
    try:
        return normalize_currency(value)
    except UnknownCurrency as exc:
        raise ValueError(str(exc)) from None


def _timezone(value: str) -> str:
    if value not in _ZONES:
        raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Paris")
    try:
        ZoneInfo(value)
    except ZoneInfoNotFoundError:
        raise ValueError(f"unknown time zone {value!r}") from None
    return value


def _decimal_string(value: object) -> Decimal:
    if isinstance(value, Decimal):
        return _bounded(value)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError('must be a decimal string such as "0.25" or an integer')
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number") from None
    return _bounded(number)


def _bounded(number: Decimal) -> Decimal:
    if not number.is_finite():
        raise ValueError("must be a finite number")
    digits = number.as_tuple().digits
    if len(digits) > MAX_DECIMAL_DIGITS or number.adjusted() > 15 or number.adjusted() < -18:
        raise ValueError(
            f"must have at most {MAX_DECIMAL_DIGITS} significant digits and lie between "
            "1e-18 and 1e15"
        )
    return number


def plain(number: Decimal) -> str:
    """A decimal as a string in plain notation: ``1E-7`` -> ``0.0000001``, ``1E+3`` -> ``1000``."""
    return format(number, "f")


def _instant(value: datetime) -> datetime:
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range") from None
    if not MIN_INSTANT <= utc < MAX_INSTANT:
        raise ValueError("must lie between 1970 and 9000")
    return utc


def _non_negative(value: Decimal) -> Decimal:
    if value < 0:
        raise ValueError("must not be negative")
    return value


Code = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$")]
"""A catalog code: letters, digits, ``_ . -``, at most 100 characters."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]
Currency = Annotated[str, AfterValidator(_currency)]
TimeZone = Annotated[str, AfterValidator(_timezone)]
Country = Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$", to_upper=True)]
MinorAmount = Annotated[int, Field(strict=True, ge=0, le=MAX_MINOR)]
"""A non-negative amount in integer minor units; fractions and booleans are refused."""
Count = Annotated[int, Field(strict=True, ge=0, le=MAX_COUNT)]
PlainDecimal = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
"""An output decimal: JSON shows it as a string in plain notation, never ``1E-7``."""
DecimalAmount = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    AfterValidator(_non_negative),
    PlainSerializer(plain, return_type=str, when_used="json"),
]
"""A non-negative exact decimal given as a string (``"0.0125"``) or an integer; shown
in plain notation."""
Instant = Annotated[AwareDatetime, AfterValidator(_instant)]
"""An instant with an explicit offset, normalized to UTC, between 1970 and 9000."""

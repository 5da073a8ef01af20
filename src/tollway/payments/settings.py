"""The ``payments`` section of product settings: the default provider and the retry
schedule of failed charges."""

from __future__ import annotations

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tollway.kernel.context import Context
from tollway.kernel.errors import Forbidden
from tollway.kernel.tenancy import read_settings

SECTION = "payments"

ProviderName = Literal["fake", "manual", "stripe", "asaas"]
RetryDay = Annotated[int, Field(strict=True, ge=1, le=90)]


class PaymentsSettings(BaseModel):
    """How a product collects: which provider new payment methods and checkouts use,
    and when a failed charge is tried again."""

    model_config = ConfigDict(extra="forbid")

    provider: ProviderName = "stripe"
    """The provider of payment methods added without one, and of checkout and portal."""
    retry_days: list[RetryDay] = Field(default_factory=lambda: [1, 3, 5, 7], max_length=10)
    """Days after the first failed charge of an invoice at which it is tried again."""

    @field_validator("retry_days")
    @classmethod
    def _increasing(cls, days: list[int]) -> list[int]:
        if any(later <= earlier for earlier, later in pairwise(days)):
            raise ValueError("retry days must increase")
        return days


def payments_settings(ctx: Context) -> PaymentsSettings:
    """The product's ``payments`` settings, defaults filled in."""
    return read_settings(ctx, SECTION, PaymentsSettings)


def chosen_provider(ctx: Context, requested: str | None) -> str:
    """The provider a request names, or the product's. Only full access (a secret key)
    may choose another than the product's ``payments.provider`` (403 on ``provider``)."""
    configured = payments_settings(ctx).provider
    if requested is None or requested == configured:
        return configured
    if ctx.customer_scope is not None:
        detail = f"a customer-scoped key can only use the product's provider {configured!r}"
        raise Forbidden(detail, errors=[{"field": "provider", "message": detail}])
    return requested

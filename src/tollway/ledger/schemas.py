"""Ledger inputs, outputs and the product settings section ``credits``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tollway.kernel.validation import INPUT_CONFIG, MAX_MINOR, Instant, MinorAmount
from tollway.ledger.models import CreditEntry, CreditGrant

Priority = Annotated[int, Field(strict=True, ge=-1000, le=1000)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500)]


class CreditsSettings(BaseModel):
    """Product settings section ``credits``."""

    model_config = ConfigDict(extra="forbid")

    overage: Literal["bill", "block"] = "bill"
    """When a plan allocation is used up: ``bill`` the usage beyond it, or ``block``
    consumes of the metrics it pays (quota refusal, 429 ``credits_exhausted``)."""
    low_balance_threshold: MinorAmount | None = None
    """``credits.low_balance`` fires once when the balance drops below this."""


class CreditGrantIn(BaseModel):
    """An admin grant in the customer's currency."""

    model_config = INPUT_CONFIG

    amount: Annotated[int, Field(strict=True, gt=0, le=MAX_MINOR)]
    reason: Reason
    expires_at: Instant | None = None
    source: Literal["admin", "purchase", "promotion", "trial"] = "admin"
    priority: Priority = 0


class GrantOut(BaseModel):
    id: str
    source: str
    amount: int
    remaining: int
    currency: str
    priority: int
    reason: str | None
    expires_at: datetime | None
    granted_at: datetime
    subscription_id: str | None
    period_start: datetime | None
    period_end: datetime | None

    @classmethod
    def of(cls, grant: CreditGrant, remaining: int) -> GrantOut:
        return cls(
            id=grant.id,
            source=grant.source,
            amount=grant.amount,
            remaining=remaining,
            currency=grant.currency,
            priority=grant.priority,
            reason=grant.reason,
            expires_at=grant.expires_at,
            granted_at=grant.granted_at,
            subscription_id=grant.subscription_id,
            period_start=grant.period_start,
            period_end=grant.period_end,
        )


class EntryOut(BaseModel):
    id: str
    grant_id: str
    kind: str
    amount: int
    invoice_id: str | None
    at: datetime

    @classmethod
    def of(cls, entry: CreditEntry) -> EntryOut:
        return cls(
            id=entry.id,
            grant_id=entry.grant_id,
            kind=entry.kind,
            amount=entry.amount,
            invoice_id=entry.invoice_id,
            at=entry.at,
        )


class CreditsOut(BaseModel):
    """A customer's balance (live) in its currency, its grants and latest entries."""

    customer_id: str
    balance: int
    currency: str
    at: datetime
    grants: list[GrantOut]
    entries: list[EntryOut]

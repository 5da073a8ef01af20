"""Input and output shapes of customers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from tollway.kernel.validation import INPUT_CONFIG, Country, Currency, TimeZone

ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^/\s]+$")]
Metadata = Annotated[
    dict[
        Annotated[str, StringConstraints(max_length=40)],
        Annotated[str, StringConstraints(max_length=500)],
    ],
    Field(max_length=50),
]


AddressLine = Annotated[str, StringConstraints(max_length=200)]


class Address(BaseModel):
    model_config = INPUT_CONFIG

    line1: AddressLine | None = None
    line2: AddressLine | None = None
    city: AddressLine | None = None
    state: AddressLine | None = None
    postal_code: Annotated[str, StringConstraints(max_length=32)] | None = None
    country: Country | None = None


class CustomerCreate(BaseModel):
    """``POST /v1/customers``."""

    model_config = INPUT_CONFIG

    external_id: ExternalId
    name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None
    currency: Currency | None = None
    timezone: TimeZone = "UTC"
    country: Country | None = None
    tax_id: str | None = Field(default=None, max_length=64)
    billing_address: Address | None = None
    metadata: Metadata = Field(default_factory=dict)
    test_clock: str | None = None


class CustomerUpdate(BaseModel):
    """``PATCH /v1/customers/{external_id}``: only the fields sent change."""

    model_config = INPUT_CONFIG

    name: str | None = Field(default=None, max_length=255)
    email: EmailStr | None = None
    currency: Currency | None = None
    timezone: TimeZone | None = None
    country: Country | None = None
    tax_id: str | None = Field(default=None, max_length=64)
    billing_address: Address | None = None
    metadata: Metadata | None = None


class CustomerOut(BaseModel):
    """A customer as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: str
    external_id: str
    name: str | None
    email: str | None
    currency: str
    currency_locked: bool
    timezone: str
    country: str | None
    tax_id: str | None
    billing_address: dict[str, str | None] | None
    metadata: dict[str, str] = Field(validation_alias="metadata_")
    test_clock: str | None = Field(validation_alias="test_clock_id")
    created_at: datetime
    updated_at: datetime

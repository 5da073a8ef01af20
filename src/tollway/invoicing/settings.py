"""The ``invoicing`` section of product settings: terms, taxes and the seller."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from tollway.kernel.context import Context
from tollway.kernel.tenancy import read_settings
from tollway.kernel.validation import Country

SECTION = "invoicing"

DEFAULT_REVERSE_CHARGE_NOTE = (
    "Reverse charge: VAT to be accounted for by the recipient "
    "(Article 196, Council Directive 2006/112/EC)."
)


class TaxRate(BaseModel):
    """A tax rate in percent. With ``customer_id`` (external id) it applies to that
    customer, with ``country`` to customers in that country, with neither to
    everyone else (the product's default). ``inclusive``: prices already hold it."""

    model_config = ConfigDict(extra="forbid")

    rate: Annotated[Decimal, Field(ge=0, le=100)]
    label: Annotated[str, StringConstraints(min_length=1, max_length=100)] = "Tax"
    inclusive: bool = False
    country: Country | None = None
    customer_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None


class InvoicingSettings(BaseModel):
    """How a product's invoices are numbered, taxed and due."""

    model_config = ConfigDict(extra="forbid")

    net_terms_days: Annotated[int, Field(strict=True, ge=0, le=365)] = 30
    """Days from issue to the due date; past it an open invoice is overdue."""
    number_prefix: Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{1,10}$")] = "INV"
    tax_rates: list[TaxRate] = Field(default_factory=list, max_length=500)
    seller_country: Country | None = None
    """Where the seller is established: EU reverse charge applies to customers with a
    valid VAT id of another EU country."""
    reverse_charge_note: Annotated[str, StringConstraints(min_length=1, max_length=500)] = (
        DEFAULT_REVERSE_CHARGE_NOTE
    )


def invoicing_settings(ctx: Context) -> InvoicingSettings:
    """The product's ``invoicing`` settings, defaults filled in."""
    return read_settings(ctx, SECTION, InvoicingSettings)

"""Add-on shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from tollway.catalog.models import AddOn
from tollway.catalog.schemas.plans import Description
from tollway.kernel.validation import INPUT_CONFIG, Code, Currency, MinorAmount, Name

AddOnInterval = Literal["monthly", "annual", "one_time"]


class AddOnCreate(BaseModel):
    """``POST /v1/addons``: a fixed price per interval, or once. ``currency`` defaults
    to the product's."""

    model_config = INPUT_CONFIG

    code: Code
    name: Name
    description: Description | None = None
    category: str | None = Field(default=None, max_length=100)
    amount: MinorAmount
    currency: Currency | None = None
    interval: AddOnInterval
    active: StrictBool = True


class AddOnOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    description: str | None
    category: str | None
    amount: int
    currency: str
    interval: AddOnInterval
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, addon: AddOn) -> AddOnOut:
        return cls.model_validate(addon)

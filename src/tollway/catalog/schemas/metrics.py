"""Billable metric shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from tollway.catalog.charges import Loc, raise_field_errors
from tollway.catalog.models import BillableMetric
from tollway.kernel.validation import INPUT_CONFIG, Code, Name

Aggregation = Literal["count", "sum", "max", "unique_count", "latest", "weighted_sum"]
PropertyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")]
"""An event property: ``quantity``, ``region``, ``gb``."""

Filters = Annotated[
    dict[
        PropertyName,
        Annotated[
            list[Annotated[str, StringConstraints(max_length=255)]],
            Field(min_length=1, max_length=100),
        ],
    ],
    Field(max_length=20),
]


class MetricCreate(BaseModel):
    """``POST /v1/metrics``: how usage events with ``metric == code`` become a number.

    ``field`` is the event property aggregated (``quantity`` unless named); ``count``
    counts events and takes no field. ``filters`` keep only events whose property is
    one of the listed values; ``group_by`` splits the number by property values.
    """

    model_config = INPUT_CONFIG

    code: Code
    name: Name
    aggregation: Aggregation
    field: PropertyName | None = None
    unit: str | None = Field(default=None, max_length=50)
    filters: Filters = Field(default_factory=dict)
    group_by: Annotated[list[PropertyName], Field(max_length=5)] = Field(default_factory=list)

    @model_validator(mode="after")
    def _field_fits_aggregation(self) -> Self:
        errors: list[tuple[Loc, str]] = []
        if self.aggregation == "count" and self.field is not None:
            errors.append((("field",), "count counts events and takes no field"))
        elif self.aggregation != "count" and self.field is None:
            self.field = "quantity"
        if len(set(self.group_by)) != len(self.group_by):
            errors.append((("group_by",), "lists a property twice"))
        raise_field_errors("MetricCreate", errors)
        return self


class MetricOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    code: str
    name: str
    aggregation: Aggregation
    field: str | None
    unit: str | None
    filters: dict[str, list[str]]
    group_by: list[str]
    created_at: datetime

    @classmethod
    def of(cls, metric: BillableMetric) -> MetricOut:
        return cls.model_validate(metric)

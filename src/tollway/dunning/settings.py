"""The ``dunning`` section of product settings: the grace period and the steps after it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from tollway.kernel.context import Context
from tollway.kernel.tenancy import read_settings

SECTION = "dunning"

SUSPEND, DOWNGRADE, CANCEL = "suspend", "downgrade", "cancel"
Action = Literal["suspend", "downgrade", "cancel"]
FINAL_ACTIONS = frozenset({DOWNGRADE, CANCEL})
"""Actions that end the paid service: nothing may follow them."""


class DunningStep(BaseModel):
    """What happens ``after_days`` days after the first failed payment, if unpaid."""

    model_config = ConfigDict(extra="forbid")

    after_days: Annotated[int, Field(strict=True, ge=0, le=365)]
    action: Action


DEFAULT_STEPS = [
    DunningStep(after_days=7, action="suspend"),
    DunningStep(after_days=14, action="downgrade"),
]


class DunningSettings(BaseModel):
    """How long an unpaid subscription keeps its service, and what happens then."""

    model_config = ConfigDict(extra="forbid")

    grace_days: Annotated[int, Field(strict=True, ge=0, le=365)] = 7
    """Days after the first failed payment during which nothing is taken away."""
    steps: list[DunningStep] = Field(
        default_factory=lambda: [s.model_copy() for s in DEFAULT_STEPS], max_length=10
    )
    """In order of ``after_days`` (counted from the first failure, not before the grace
    period ends); ``downgrade`` and ``cancel`` end the list."""

    @field_validator("steps")
    @classmethod
    def _ordered(cls, steps: list[DunningStep], info: ValidationInfo) -> list[DunningStep]:
        grace = info.data.get("grace_days")
        previous: DunningStep | None = None
        for index, step in enumerate(steps):
            if isinstance(grace, int) and step.after_days < grace:
                raise ValueError(
                    f"step {index} ({step.action} after {step.after_days} days) comes before "
                    f"the grace period of {grace} days ends"
                )
            if previous is not None and step.after_days <= previous.after_days:
                raise ValueError(f"step {index} must come after step {index - 1} (after_days)")
            if previous is not None and previous.action in FINAL_ACTIONS:
                raise ValueError(
                    f"step {index} follows a {previous.action}, which must be the last step"
                )
            if step.action == SUSPEND and any(s.action == SUSPEND for s in steps[:index]):
                raise ValueError(f"step {index}: the customer is already suspended")
            previous = step
        return steps


def dunning_settings(ctx: Context) -> DunningSettings:
    """The product's ``dunning`` settings, defaults filled in."""
    return read_settings(ctx, SECTION, DunningSettings)

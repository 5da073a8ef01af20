"""Plan use cases: create, read, list, update and archive.

A product has at most one default plan (the free plan customers fall back to):
making a plan the default clears the flag on the previous one, which records its
own ``plan.updated``. Archiving keeps the plan readable and valid for existing
subscriptions; an archived plan is never the default.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tollway.catalog import events
from tollway.catalog.charges import ChargeSpec
from tollway.catalog.models import Plan
from tollway.catalog.repository import PlanRepository
from tollway.catalog.schemas import (
    MinimumSpec,
    PlanCreate,
    PlanOut,
    PlanUpdate,
    PriceSpec,
    snapshot,
)
from tollway.catalog.service.common import (
    metric_errors,
    require_catalog_write,
)
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import AlreadyExists, FieldError, NotFound, ValidationFailed
from tollway.kernel.ids import new_id
from tollway.kernel.outbox import record_event
from tollway.kernel.pagination import Page, PageRequest
from tollway.kernel.tenancy import product_currency

_NULLABLE = frozenset({"description"})
_JSON_LISTS = frozenset({"prices", "quotas", "charges", "minimum_commitment"})
_MONEY = frozenset({"currency", "prices", "charges", "minimum_commitment"})
_CREATE_COLUMNS = sorted(set(PlanCreate.model_fields) - {"code", "currency"})


def _snapshot(plan: Plan) -> dict[str, Any]:
    return snapshot(PlanOut.of(plan))


def _repeat_errors(
    name: str, field: str, items: Sequence[Any], currency: str, what: str
) -> list[FieldError]:
    """One error per item of the list ``name`` repeating an earlier item's ``field`` in the
    same currency (a null currency is ``currency``); ``what`` is formatted with the
    field's value and the currency. With ``field`` "currency", the currency alone counts."""
    seen: set[tuple[str, str]] = set()
    errors = []
    for index, item in enumerate(items):
        key = ("" if field == "currency" else getattr(item, field), item.currency or currency)
        if key in seen:
            errors.append(FieldError(f"{name}[{index}].{field}", what.format(*key)))
        seen.add(key)
    return errors


def _lists(changes: dict[str, Any], plan: Plan | None) -> dict[str, list[Any]]:
    """The plan's prices, charges and minimum commitments once ``changes`` apply (the
    lists not in ``changes`` are the plan's), as input specs."""

    def items(name: str, spec: type[BaseModel]) -> list[Any]:
        if plan is None or name in changes:
            return list(changes.get(name) or ())
        return [spec.model_validate(item) for item in getattr(plan, name)]

    return {
        "prices": items("prices", PriceSpec),
        "charges": items("charges", ChargeSpec),
        "minimum_commitment": items("minimum_commitment", MinimumSpec),
    }


def _repeats(lists: dict[str, list[Any]], currency: str) -> list[FieldError]:
    """At most one price per interval, one charge per metric and one minimum commitment
    per currency (null: ``currency``)."""
    return (
        _repeat_errors("prices", "interval", lists["prices"], currency, "a second {} price in {}")
        + _repeat_errors(
            "charges", "metric", lists["charges"], currency, "a second charge for {} in {}"
        )
        + _repeat_errors(
            "minimum_commitment",
            "currency",
            lists["minimum_commitment"],
            currency,
            "a second minimum commitment in {1}",
        )
    )


def _coverage_errors(lists: dict[str, list[Any]], currency: str) -> list[FieldError]:
    """A plan is sold in every currency its prices, charges and minimum commitments are
    in (null: ``currency``), and must bill usage the same way in each: every charged
    metric has a charge in each of them, and a minimum commitment, if any, exists in
    each. Otherwise its subscribers in the missing currency would pay no usage."""
    charges, minimums = lists["charges"], lists["minimum_commitment"]
    if not charges and not minimums:
        return []
    sold = {item.currency or currency for items in lists.values() for item in items}
    sold_text = ", ".join(sorted(sold))
    charged: dict[str, set[str]] = {}
    for charge in charges:
        charged.setdefault(charge.metric, set()).add(charge.currency or currency)
    errors = [
        FieldError(
            "charges",
            f"no charge for {metric!r} in {missing}: the plan is sold in {sold_text} "
            "and each charged metric needs a charge in each of them",
        )
        for metric, currencies in charged.items()
        for missing in sorted(sold - currencies)
    ]
    if minimums:
        errors += [
            FieldError(
                "minimum_commitment",
                f"no minimum commitment in {missing}: the plan is sold in {sold_text} "
                "and needs a minimum commitment in each of them, or none",
            )
            for missing in sorted(sold - {m.currency or currency for m in minimums})
        ]
    return errors


def _list_errors(changes: dict[str, Any], plan: Plan | None, currency: str) -> list[FieldError]:
    """What is wrong with the plan's money lists once ``changes`` apply, in ``currency``.
    Currency coverage is checked when the changes touch money: a plan stored before
    that rule stays editable (renamed, archived) without fixing its charges first."""
    lists = _lists(changes, plan)
    errors = _repeats(lists, currency)
    if plan is None or _MONEY & changes.keys():
        errors += _coverage_errors(lists, currency)
    return errors


def _column_value(field: str, value: Any) -> Any:
    """The stored form of an input field (JSON columns hold the validated dumps)."""
    if field in _JSON_LISTS:
        return [item.model_dump(mode="json") for item in value]
    if field == "features":
        return dict(value)
    return value


def _clear_default(ctx: Context, *, keep: Plan | None, now: datetime) -> None:
    """Unset ``is_default`` on every plan but ``keep``, each with its ``plan.updated``."""
    for other in PlanRepository(ctx).defaults():
        if other is keep:
            continue
        before = _snapshot(other)
        other.is_default = False
        other.updated_at = now
        ctx.session.flush()
        record_event(
            ctx,
            events.PLAN_UPDATED,
            {**_snapshot(other), "previous_attributes": {"is_default": before["is_default"]}},
        )


def create_plan(ctx: Context, data: PlanCreate) -> Plan:
    """Create a plan; its ``code`` must be new in the product, every quota and charge
    must name an existing billable metric, and usage must be priced in every currency
    the plan is sold in."""
    require_catalog_write(ctx)
    repo = PlanRepository(ctx)
    if repo.by_code(data.code) is not None:
        raise AlreadyExists(f"plan {data.code!r} already exists", param="code")
    currency = data.currency or product_currency(ctx)
    errors = _list_errors(dict(data), None, currency)
    errors += metric_errors(ctx, quotas=data.quotas, charges=data.charges)
    if errors:
        raise ValidationFailed(errors)
    now = ctx.now()
    if data.is_default:
        _clear_default(ctx, keep=None, now=now)
    plan = Plan(
        id=new_id("plan"),
        product_id=ctx.product_id,
        code=data.code,
        currency=currency,
        created_at=now,
        updated_at=now,
        **{name: _column_value(name, getattr(data, name)) for name in _CREATE_COLUMNS},
    )
    repo.add(plan)
    snapshot = _snapshot(plan)
    audit(ctx, "plan.create", subject_type="plan", subject_id=plan.id, before=None, after=snapshot)
    record_event(ctx, events.PLAN_CREATED, snapshot)
    return plan


def get_plan(ctx: Context, code: str) -> Plan:
    """The plan with ``code``, archived or not; 404 when absent."""
    plan = PlanRepository(ctx).by_code(code)
    if plan is None:
        raise NotFound(f"plan {code!r} not found", param="code")
    return plan


def default_plan(ctx: Context) -> Plan | None:
    """The product's default (fallback) plan, if one is marked ``is_default``."""
    defaults = PlanRepository(ctx).defaults()
    return defaults[0] if defaults else None


def list_plans(ctx: Context, page: PageRequest, *, active: bool | None = None) -> Page[Plan]:
    """Plans of the product, newest first; only active or archived ones when asked."""
    return PlanRepository(ctx).list_filtered(page, active=active)


def update_plan(ctx: Context, code: str, data: PlanUpdate) -> Plan:
    """Change the fields sent; emits ``plan.updated`` only when something changed."""
    require_catalog_write(ctx)
    plan = get_plan(ctx, code)
    apply_plan_changes(ctx, plan, {name: getattr(data, name) for name in data.model_fields_set})
    return plan


def apply_plan_changes(ctx: Context, plan: Plan, changes: dict[str, Any]) -> list[str]:
    """Validate and apply ``changes`` (input values by field name) to ``plan``.

    Returns the names of the fields that changed; records ``plan.updated`` with
    ``previous_attributes`` when there are any. Deactivating the default plan
    also clears ``is_default``. Raises :class:`ValidationFailed` and changes
    nothing when a value is refused.
    """
    require_catalog_write(ctx)
    errors = [
        FieldError(name, "may not be null")
        for name, value in changes.items()
        if value is None and name not in _NULLABLE
    ]
    if errors:
        raise ValidationFailed(errors)
    active = changes.get("active", plan.active)
    is_default = changes.get("is_default", plan.is_default)
    if is_default and not active:
        if changes.get("is_default"):
            errors.append(FieldError("is_default", "an archived plan cannot be the default"))
        is_default = False
    new_currency = changes.get("currency")
    if new_currency not in (None, plan.currency) and "prices" not in changes and plan.prices:
        # Amounts are minor units of the plan currency: 4900 USD must not become ¥4900.
        errors.append(
            FieldError("currency", "send the prices in the new currency in the same request")
        )
    if (
        new_currency not in (None, plan.currency)
        and "minimum_commitment" not in changes
        and any(m.get("currency") is None for m in plan.minimum_commitment)
    ):
        errors.append(
            FieldError(
                "currency", "send the minimum commitment in the new currency in the same request"
            )
        )
    if (
        new_currency not in (None, plan.currency)
        and "charges" not in changes
        and any(c.get("currency") is None for c in plan.charges)
    ):
        errors.append(
            FieldError("charges", "send the charges in the new currency in the same request")
        )
    errors += _list_errors(changes, plan, changes.get("currency") or plan.currency)
    errors += metric_errors(
        ctx, quotas=changes.get("quotas", ()), charges=changes.get("charges", ())
    )
    if errors:
        raise ValidationFailed(errors)

    before = _snapshot(plan)
    now = ctx.now()
    if is_default and not plan.is_default:
        _clear_default(ctx, keep=plan, now=now)
    changes = {**changes, "is_default": is_default}
    for name, value in changes.items():
        stored = _column_value(name, value)
        if getattr(plan, name) != stored:
            setattr(plan, name, stored)
    after = _snapshot(plan)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        plan.updated_at = now
        ctx.session.flush()
        audit(
            ctx,
            "plan.update",
            subject_type="plan",
            subject_id=plan.id,
            before=before,
            after=_snapshot(plan),
        )
        record_event(
            ctx,
            events.PLAN_UPDATED,
            {**_snapshot(plan), "previous_attributes": {k: before[k] for k in changed}},
        )
    return changed


def archive_plan(ctx: Context, code: str) -> Plan:
    """Archive a plan (``active`` false, no longer the default); it stays readable and
    valid for existing subscriptions. Archiving an archived plan changes nothing."""
    require_catalog_write(ctx)
    plan = get_plan(ctx, code)
    if not plan.active:
        return plan
    before = _snapshot(plan)
    plan.active = False
    plan.is_default = False
    plan.updated_at = ctx.now()
    after = _snapshot(plan)
    changed = [k for k in ("active", "is_default") if after[k] != before[k]]
    audit(ctx, "plan.archive", subject_type="plan", subject_id=plan.id, before=before, after=after)
    record_event(
        ctx,
        events.PLAN_ARCHIVED,
        {**after, "previous_attributes": {k: before[k] for k in changed}},
    )
    return plan

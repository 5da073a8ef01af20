"""Loading a ``.product`` file into the caller's product (see :mod:`tollway.catalog.product_file`).

The import is an upsert and is idempotent: importing the same file twice changes
nothing the second time (no rows, no events, no ``updated_at``). All of the file
is checked before anything is written, and the caller's transaction is rolled
back on any error, so a refused file writes nothing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tollway.catalog import events
from tollway.catalog.models import Plan
from tollway.catalog.product_file import (
    CatalogDraft,
    ProductFile,
    draft_catalog,
    humanize,
    load_document,
)
from tollway.catalog.repository import MetricRepository, PlanRepository
from tollway.catalog.schemas import MetricCreate, PlanCreate, PriceSpec
from tollway.catalog.service.common import require_catalog_write
from tollway.catalog.service.metrics import create_metric
from tollway.catalog.service.plans import apply_plan_changes, create_plan
from tollway.kernel.audit import audit
from tollway.kernel.context import Context
from tollway.kernel.errors import FieldError, ValidationFailed
from tollway.kernel.outbox import record_event
from tollway.kernel.tenancy import (
    GENERAL,
    GeneralSettings,
    Product,
    product_by_id,
    product_currency,
    read_settings,
    write_settings,
)

_PLAN_FIELDS = [name for name in PlanCreate.model_fields if name != "code"]


@dataclass
class ImportResult:
    """What an import did: plan codes by outcome, metrics created, product touched."""

    plans_created: list[str] = field(default_factory=list)
    plans_updated: list[str] = field(default_factory=list)
    plans_unchanged: list[str] = field(default_factory=list)
    metrics_created: list[str] = field(default_factory=list)
    product_updated: bool = False

    @property
    def changed(self) -> bool:
        """Whether the import wrote anything."""
        return (
            bool(self.plans_created or self.plans_updated or self.metrics_created)
            or self.product_updated
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for people: ``plans: 2 created (starter, enterprise), 0 updated, ...``."""

        def part(label: str, codes: list[str]) -> str:
            return f"{len(codes)} {label}" + (f" ({', '.join(codes)})" if codes else "")

        plans = ", ".join(
            part(label, codes)
            for label, codes in (
                ("created", self.plans_created),
                ("updated", self.plans_updated),
                ("unchanged", self.plans_unchanged),
            )
        )
        product = "updated" if self.product_updated else "unchanged"
        return (
            f"plans: {plans}; metrics: {part('created', self.metrics_created)}; product: {product}"
        )


def import_product_file(ctx: Context, text: str) -> ImportResult:
    """Apply a ``.product`` document to the caller's product.

    Product name, company, branding and reseller settings are replaced by the
    file's when present; ``branding.billing.currency`` becomes the product
    currency, in which the plans' major-unit prices are read. Plans are upserted
    by ``id`` (a listed archived plan is reactivated; unlisted plans are left
    alone); Stripe price ids survive when the price is unchanged. Metrics the
    file declares or its features imply are created when missing (existing
    metrics are never modified). Raises :class:`ValidationFailed` naming the
    path in the file (``plans[1].price_monthly``).
    """
    require_catalog_write(ctx)
    document = load_document(text)
    product = product_by_id(ctx.session, ctx.product_id)
    currency = document.currency or product_currency(ctx)
    draft = draft_catalog(document, currency=currency)
    new_metrics = _metrics_to_create(ctx, draft)

    result = ImportResult(product_updated=_update_product(ctx, product, document))
    for metric in new_metrics:
        create_metric(ctx, metric)
        result.metrics_created.append(metric.code)
    plans = PlanRepository(ctx)
    for data in draft.plans:
        existing = plans.by_code(data.code)
        if existing is None:
            create_plan(ctx, data)
            result.plans_created.append(data.code)
            continue
        changes = {name: getattr(data, name) for name in _PLAN_FIELDS}
        changes["prices"] = _keep_stripe_ids(existing, data.prices, data.currency)
        changes["active"] = True
        if apply_plan_changes(ctx, existing, changes):
            result.plans_updated.append(data.code)
        else:
            result.plans_unchanged.append(data.code)
    if result.changed:
        record_event(ctx, events.CATALOG_IMPORTED, result.as_dict())
    return result


def _metrics_to_create(ctx: Context, draft: CatalogDraft) -> list[MetricCreate]:
    """Metrics declared in ``metrics`` or implied by features that do not exist yet.

    A quota or charge written out in the file must name a metric that exists or
    is declared in the file: a typo there is an error, not a new metric.
    """
    document = draft.document
    declared = {m.code: m for m in document.metrics}
    explicit = [
        (f"plans[{i}].quotas[{j}].metric", quota.metric)
        for i, plan in enumerate(document.plans)
        for j, quota in enumerate(plan.quotas)
    ] + [
        (f"plans[{i}].charges[{j}].metric", charge.metric)
        for i, plan in enumerate(document.plans)
        for j, charge in enumerate(plan.charges)
    ]
    wanted = set(declared) | set(draft.feature_metrics) | {code for _, code in explicit}
    existing = MetricRepository(ctx).by_codes(wanted)
    errors = [
        FieldError(path, f"unknown metric {code!r}; declare it under metrics")
        for path, code in explicit
        if code not in existing and code not in declared
    ]
    if errors:
        raise ValidationFailed(errors)
    creates = [m for m in document.metrics if m.code not in existing]
    creates += [
        MetricCreate(code=code, name=humanize(code), aggregation="sum")
        for code in draft.feature_metrics
        if code not in existing and code not in declared
    ]
    return creates


def _keep_stripe_ids(plan: Plan, prices: list[PriceSpec], currency: str | None) -> list[PriceSpec]:
    """The file's prices, each keeping the Stripe price id of an identical stored price."""
    plan_currency = currency or plan.currency
    stored = {
        (p["interval"], p.get("currency") or plan.currency, p["amount"]): p.get("stripe_price_id")
        for p in plan.prices
    }
    kept = []
    for price in prices:
        key = (price.interval, price.currency or plan_currency, price.amount)
        stripe_id = stored.get(key)
        kept.append(price.model_copy(update={"stripe_price_id": stripe_id}) if stripe_id else price)
    return kept


def _update_product(ctx: Context, product: Product, document: ProductFile) -> bool:
    """Copy the file's product fields onto ``product``; whether anything changed."""
    wanted: dict[str, Any] = {}
    if document.product is not None:
        if document.product.name is not None:
            wanted["name"] = document.product.name
        if "company" in document.product.model_fields_set:
            wanted["company"] = document.product.company
    if document.branding is not None:
        wanted["branding"] = document.branding.model_dump(mode="json", exclude_none=True)
    if document.reseller is not None:
        wanted["reseller"] = document.reseller.model_dump(mode="json", exclude_none=True)
    changed = {name: value for name, value in wanted.items() if getattr(product, name) != value}
    if changed:
        before = {name: getattr(product, name) for name in changed}
        for name, value in changed.items():
            setattr(product, name, value)
        product.updated_at = ctx.now()
        audit(
            ctx,
            "product.update",
            subject_type="product",
            subject_id=product.id,
            before=before,
            after=changed,
        )
    stored = product.settings.get(GENERAL, {}).get("currency")
    currency_changed = document.currency is not None and document.currency != stored
    if currency_changed:
        # Through write_settings: validated, audited and recorded like any settings change.
        general = read_settings(ctx, GENERAL, GeneralSettings)
        update = {"currency": document.currency}
        write_settings(ctx, {GENERAL: general.model_copy(update=update)})
    return bool(changed) or currency_changed

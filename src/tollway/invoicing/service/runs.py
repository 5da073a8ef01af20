"""Invoice runs: what subscriptions made billable becomes finalized invoices, once.

A run takes, for each subscription, the charges it recorded that no invoice holds
yet (period fees in advance, prorations, add-ons, credits: claimed under row
locks, then marked invoiced) and, for a closed period, its usage in arrears
(claimed through a billed-period key, so only one run ever bills it). Everything
lands on one invoice per subscription, finalized at once. A run is batch-capable:
numbers are reserved once per year for all its invoices, rows are written
together; the relay consumer runs it for one subscription.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tollway.customers import Customer, find_customers
from tollway.invoicing.models import Invoice
from tollway.invoicing.repository import InvoiceRepository, PeriodKey
from tollway.invoicing.service.build import SUBSCRIPTION, Draft, save
from tollway.invoicing.service.usage import USAGE, PlanBook, usage_lines
from tollway.invoicing.settings import invoicing_settings
from tollway.invoicing.totals import Line, line_discount
from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.errors import Conflict, NotFound, ValidationFailed
from tollway.kernel.ids import new_ids
from tollway.subscriptions import (
    Subscription,
    SubscriptionCharge,
    mark_charges_invoiced,
    open_charges_for_update,
    subscriptions_by_id,
)


@dataclass(frozen=True)
class RunItem:
    """Invoice one subscription; ``closed_period`` adds its usage in arrears over
    ``[start, end)``, rated with ``plan_code``'s charges (the subscription's plan by
    default: the plan the period was on)."""

    subscription_id: str
    closed_period: tuple[datetime, datetime] | None = None
    plan_code: str | None = None


def charge_line(charge: SubscriptionCharge) -> Line:
    """A subscription charge as an invoice line, with its discount snapshot applied."""
    quantity = Decimal(charge.quantity)
    exact = charge.quantity and charge.amount % charge.quantity == 0
    return Line(
        kind=charge.kind,
        description=charge.description,
        amount=charge.amount,
        quantity=quantity,
        unit_amount=Decimal(charge.amount // charge.quantity) if exact else None,
        discount=line_discount(charge.amount, charge.discount),
        period_start=charge.period_start,
        period_end=charge.period_end,
        charge_id=charge.id,
    )


def subscription_lines(
    ctx: Context,
    sub: Subscription,
    customer: Customer,
    charges: Sequence[SubscriptionCharge],
    book: PlanBook,
    *,
    usage_window: tuple[datetime, datetime] | None,
    plan_code: str | None,
    preview: bool,
) -> list[Line]:
    """A subscription's invoice lines: its charges, then its usage over ``usage_window``
    (in arrears). ``preview`` computes without settling anything in the ledger."""
    lines = [charge_line(c) for c in charges]
    if usage_window is not None:
        start, end = usage_window
        lines += usage_lines(
            ctx, sub, customer, book, plan_code=plan_code, start=start, end=end, preview=preview
        )
    return lines


def run_invoices(
    ctx: Context,
    items: Sequence[RunItem],
    *,
    reason: str = SUBSCRIPTION,
    finalize: bool = True,
    claim_periods: bool = False,
) -> list[Invoice]:
    """Invoice each subscription of ``items`` (one invoice each, when there is anything
    to bill) and, by default, finalize them. Rerunning, or running concurrently on
    another worker, creates nothing twice: a closed period billed already is
    skipped, or with ``claim_periods`` refused (409)."""
    require_full_access(ctx, "run invoices")
    settings = invoicing_settings(ctx)
    repo = InvoiceRepository(ctx)
    unique = _one_per_subscription(items)
    subs = subscriptions_by_id(ctx, [item.subscription_id for item in unique])
    missing = [item.subscription_id for item in unique if item.subscription_id not in subs]
    if missing:
        raise NotFound(f"subscription {missing[0]!r} not found", param="subscription_id")
    # ids (and so numbers) in the order of the items, whatever order the reads return
    invoice_ids = dict(
        zip([item.subscription_id for item in unique], new_ids("inv", len(unique)), strict=True)
    )
    # Usage keys first (a run that finds its key taken waits for the holder to commit,
    # by when the charges it would have raced for are claimed too).
    claimed = _claim_usage(repo, unique, subs, invoice_ids, exact=claim_periods)
    by_external = find_customers(ctx, {sub.customer_external_id for sub in subs.values()})
    customers = {c.id: c for c in by_external.values()}
    open_charges = open_charges_for_update(ctx, customers)
    book = PlanBook(ctx)
    book.rate(
        [
            (
                subs[item.subscription_id],
                customers[subs[item.subscription_id].customer_id],
                item.plan_code,
                *item.closed_period,
            )
            for item in unique
            if item.closed_period is not None and item.subscription_id in claimed
        ]
    )
    drafts: list[Draft] = []
    claims: dict[str, list[SubscriptionCharge]] = {}
    for item in unique:
        sub = subs[item.subscription_id]
        customer = customers[sub.customer_id]
        charges = [c for c in open_charges[sub.customer_id] if c.subscription_id == sub.id]
        key = claimed.get(sub.id)
        window = None if key is None else (key.period_start, key.period_end)
        lines = subscription_lines(
            ctx,
            sub,
            customer,
            charges,
            book,
            usage_window=window,
            plan_code=item.plan_code,
            preview=False,
        )
        if lines:
            draft = Draft(customer, sub.currency, lines, reason, sub.id, invoice_ids[sub.id])
            drafts.append(draft)
            claims[draft.id] = charges
    billed = {d.subscription_id for d in drafts}
    repo.forget_empty([k for sub_id, k in claimed.items() if sub_id not in billed])
    invoices = save(ctx, drafts, settings, finalize=finalize)
    mark_charges_invoiced(ctx, claims)
    return invoices


def _one_per_subscription(items: Sequence[RunItem]) -> list[RunItem]:
    """The items, repeats dropped; two different items of one subscription are refused
    (422): its periods are billed one run after the other, in order."""
    unique = list(dict.fromkeys(items))
    seen: set[str] = set()
    for item in unique:
        if item.subscription_id in seen:
            raise ValidationFailed.field(
                "subscription_id",
                f"subscription {item.subscription_id!r} is in the run twice: "
                "run its periods one after the other",
            )
        seen.add(item.subscription_id)
    return unique


def _claim_usage(
    repo: InvoiceRepository,
    items: Sequence[RunItem],
    subs: dict[str, Subscription],
    invoice_ids: dict[str, str],
    *,
    exact: bool,
) -> dict[str, PeriodKey]:
    """Claim the usage each item bills: its closed period from where the
    subscription's billed usage ends (a part a manual invoice billed is not billed
    again), as a key starting there, so a subscription's billed usage intervals never
    overlap and leave no gap. ``exact`` (a manual invoice): the period must start
    where billed usage ends (at the subscription's start, or its trial's end, before
    anything was billed), else 409 on ``period_start``.

    Keys are inserted in one order, so concurrent runs wait for each other instead of
    deadlocking; a run whose key another took meanwhile reads again where that one
    stopped and claims the rest, if any."""
    pending = {
        item.subscription_id: item.closed_period
        for item in items
        if item.closed_period is not None and item.closed_period[0] < item.closed_period[1]
    }
    claimed: dict[str, PeriodKey] = {}
    tried: dict[str, datetime] = {}
    while pending:
        until = repo.billed_until(sorted(pending))
        keys: list[PeriodKey] = []
        for sub_id, (start, end) in sorted(pending.items()):
            first = until.get(sub_id)
            if exact:
                first = first or subs[sub_id].trial_end or subs[sub_id].start_at
                if first != start:
                    raise Conflict(
                        f"this subscription's usage is billed until {first.isoformat()}: "
                        "a manual period must start there",
                        param="period_start",
                    )
            begin = start if first is None else max(first, start)
            if begin < end and (sub_id not in tried or begin > tried[sub_id]):
                keys.append(PeriodKey(sub_id, begin, end, USAGE))
                tried[sub_id] = begin
        taken = repo.claim_periods(keys, [invoice_ids[k.subscription_id] for k in keys])
        if exact and len(taken) < len(keys):
            raise Conflict("that period's usage is already invoiced", param="period_start")
        claimed.update({k.subscription_id: k for k in keys if k.subscription_id in taken})
        pending = {
            k.subscription_id: pending[k.subscription_id]
            for k in keys
            if k.subscription_id not in taken
        }
    return claimed


def invoice_subscription(
    ctx: Context,
    subscription_id: str,
    *,
    closed_period: tuple[datetime, datetime] | None = None,
    plan_code: str | None = None,
) -> Invoice | None:
    """Run invoices for one subscription; the invoice, or ``None`` with nothing to bill."""
    found = run_invoices(ctx, [RunItem(subscription_id, closed_period, plan_code)])
    return found[0] if found else None

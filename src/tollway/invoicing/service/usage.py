"""Usage in arrears: a closed period's rated usage as invoice lines, then the plan's
minimum commitment top-up and the plan allocation's coverage."""

from __future__ import annotations

from datetime import datetime

from tollway.catalog import Plan, charges_in, find_metrics, get_plan, minimum_top_up
from tollway.customers import Customer
from tollway.invoicing.totals import Line
from tollway.kernel.context import Context
from tollway.ledger import preview_settlement, settle_allocation
from tollway.metering import rate_usage
from tollway.subscriptions import Subscription

USAGE, MINIMUM, INCLUDED = "usage", "minimum_commitment", "included_credits"


class PlanBook:
    """The plans and metric names a run needs, each read once however many
    subscriptions it invoices."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._plans: dict[str, Plan] = {}
        self._names: dict[str, str] = {}

    def plan(self, code: str) -> Plan:
        if code not in self._plans:
            self._plans[code] = get_plan(self.ctx, code)
        return self._plans[code]

    def metric_name(self, code: str) -> str:
        """The metric's name (its code when it has none), reading the names of every
        metric of the plans seen so far on a miss."""
        if code not in self._names:
            charged = {c["metric"] for p in self._plans.values() for c in p.charges}
            wanted = ({code} | charged) - self._names.keys()
            found = find_metrics(self.ctx, wanted)
            self._names.update({m: found[m].name if m in found else m for m in wanted})
        return self._names[code]


def usage_lines(
    ctx: Context,
    sub: Subscription,
    customer: Customer,
    book: PlanBook,
    *,
    plan_code: str | None,
    start: datetime,
    end: datetime,
    preview: bool,
) -> list[Line]:
    """The usage of ``[start, end)`` priced by the charges of ``plan_code`` (the
    subscription's plan by default) in the subscription's currency: one line per
    priced line, a ``minimum_commitment`` top-up when the usage amount is below the
    plan's minimum, and a negative ``included_credits`` line for what the period's
    plan allocation covered (settled in the ledger; a ``preview`` asks what the
    settlement would be and writes nothing). A plan without included credits has no
    allocation to settle."""
    if end <= start:
        return []
    plan = book.plan(plan_code or sub.plan_code)
    specs = charges_in(plan.charges, sub.currency, plan.currency)
    rated = rate_usage(ctx, customer, specs, start, end) if specs else []
    lines = [
        Line(
            kind=USAGE,
            description=f"{book.metric_name(r.charge.metric)}: {priced.description}",
            amount=priced.amount,
            quantity=priced.quantity,
            unit_amount=priced.unit_amount,
            period_start=start,
            period_end=end,
            metric=r.charge.metric,
        )
        for r in rated
        for priced in r.priced.lines
    ]
    charged = sum(r.priced.amount for r in rated)
    top_up = minimum_top_up(plan.minimum_for(sub.currency), charged)
    if top_up:
        lines.append(
            Line(
                kind=MINIMUM,
                description=f"Minimum commitment of {plan.name}",
                amount=top_up,
                period_start=start,
                period_end=end,
            )
        )
    covered = 0
    if plan.included_credits:
        settle = preview_settlement if preview else settle_allocation
        covered = settle(ctx, sub.id, start, end).covered
    if covered:
        lines.append(
            Line(
                kind=INCLUDED,
                description=f"Included credits of {plan.name}",
                amount=-covered,
                period_start=start,
                period_end=end,
            )
        )
    return lines

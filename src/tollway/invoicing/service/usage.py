"""Usage in arrears: a closed period's rated usage as invoice lines, then the plan's
minimum commitment top-up and the plan allocation's coverage."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from tollway.catalog import Plan, charges_in, find_metrics, get_plan, minimum_top_up
from tollway.customers import Customer
from tollway.invoicing.totals import Line
from tollway.kernel.context import Context
from tollway.ledger import preview_settlement, settle_allocation
from tollway.metering import RatedCharge, rate_usages
from tollway.subscriptions import Subscription

USAGE, MINIMUM, INCLUDED = "usage", "minimum_commitment", "included_credits"


UsageKey = tuple[str, str, datetime, datetime]
"""What a usage rating is for: subscription id, plan code, period start and end."""


class PlanBook:
    """The plans, metric names and usage ratings a run needs, each read once however
    many subscriptions it invoices."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._plans: dict[str, Plan] = {}
        self._names: dict[str, str] = {}
        self._rated: dict[UsageKey, list[RatedCharge]] = {}

    def rate(
        self, windows: Sequence[tuple[Subscription, Customer, str | None, datetime, datetime]]
    ) -> None:
        """Rate the usage of each (subscription, customer, plan code, start, end) ahead:
        one rating (one rollup query) per plan, currency and period for all of them;
        :meth:`rated` then answers from what was read."""
        groups: dict[tuple[str, str, datetime, datetime], list[tuple[Subscription, Customer]]]
        groups = defaultdict(list)
        for sub, customer, plan_code, start, end in windows:
            if start < end:
                code = plan_code or sub.plan_code
                groups[code, sub.currency, start, end].append((sub, customer))
        for (code, currency, start, end), members in groups.items():
            plan = self.plan(code)
            specs = charges_in(plan.charges, currency, plan.currency)
            found = (
                rate_usages(self.ctx, [c for _, c in members], specs, start, end) if specs else {}
            )
            for sub, customer in members:
                self._rated[sub.id, code, start, end] = found.get(customer.id, [])

    def rated(
        self, sub: Subscription, customer: Customer, plan: Plan, start: datetime, end: datetime
    ) -> list[RatedCharge]:
        """The subscription's usage over ``[start, end)`` priced by ``plan``'s charges
        in its currency (rated now unless :meth:`rate` did it ahead)."""
        key = (sub.id, plan.code, start, end)
        if key not in self._rated:
            self.rate([(sub, customer, plan.code, start, end)])
        return self._rated.pop(key)

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
    rated = book.rated(sub, customer, plan, start, end)
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

"""``tollway demo``'s seed: the sample catalog, three customers and a key; repeatable."""

from __future__ import annotations

from sqlalchemy import func, select

from tollway import catalog, customers
from tollway.auth import authenticate
from tollway.cli.demo import seed
from tollway.kernel.context import Context
from tollway.kernel.outbox import Event
from tollway.kernel.pagination import PageRequest

ALL = PageRequest(limit=100)


def test_seed_is_idempotent_and_returns_a_working_key(ctx: Context) -> None:
    key = seed(ctx)
    assert key.startswith("sk_")
    assert authenticate(ctx.session, key, env_key=None, default_product_id="x").product_id == (
        ctx.product_id
    )
    plans = {p.code: p for p in catalog.list_plans(ctx, ALL).data}
    assert sorted(plans) == ["enterprise", "free", "pro"]
    assert [code for code, p in plans.items() if p.is_default] == ["free"]
    assert plans["free"].price_for("monthly") == 0
    assert (plans["pro"].price_for("monthly"), plans["pro"].price_for("annual")) == (4900, 49000)
    assert plans["pro"].included_credits == 1000
    assert [c["model"] for c in plans["enterprise"].charges] == ["volume", "package"]
    assert {q["metric"] for q in plans["enterprise"].quotas} == {"projects", "seats", "api_calls"}
    codes = sorted(m.code for m in catalog.list_metrics(ctx, ALL).data)
    assert codes == ["api_calls", "projects", "seats", "storage"]
    external_ids = sorted(c.external_id for c in customers.list_customers(ctx, ALL).data)
    assert external_ids == ["org_acme", "org_globex", "org_initech"]

    events = ctx.session.scalar(select(func.count()).select_from(Event))
    second = seed(ctx)
    assert second != key
    assert ctx.session.scalar(select(func.count()).select_from(Event)) == events
    assert len(customers.list_customers(ctx, ALL).data) == 3

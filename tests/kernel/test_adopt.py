"""``tollway.kernel.db.adopt``: an object made from a row read with plain columns is
the session's own, as if the ORM had loaded it, on both backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select

from tollway.customers import Customer, CustomerCreate, create_customer
from tollway.kernel.context import Context
from tollway.kernel.db import adopt, unit_of_work
from tollway.quotas.models import QuotaState


def _columns(ctx: Context, external_id: str) -> dict[str, Any]:
    """The customer's row as plain column values, keyed by attribute."""
    keys = [prop.key for prop in Customer.__mapper__.column_attrs]
    row = ctx.session.connection().execute(
        select(*(getattr(Customer, key) for key in keys)).where(Customer.external_id == external_id)
    )
    return dict(zip(keys, row.one(), strict=True))


def test_an_adopted_object_is_persistent_and_its_changes_are_flushed(
    ctx: Context, session_factory: Any
) -> None:
    created = create_customer(ctx, CustomerCreate(external_id="acme", name="Acme"))
    ctx.session.commit()
    ctx.session.expunge_all()
    adopted = adopt(ctx.session, Customer, _columns(ctx, "acme"))
    assert adopted.id == created.id
    assert adopted.name == "Acme"
    # the session holds it: the ORM hands back the same object, without a refresh
    assert ctx.session.get(Customer, created.id) is adopted
    assert not ctx.session.dirty
    assert not ctx.session.new
    adopted.name = "Acme Inc."
    ctx.session.commit()
    with unit_of_work(session_factory) as other:
        assert other.get_one(Customer, created.id).name == "Acme Inc."


def test_adopting_a_row_the_session_holds_returns_its_object(ctx: Context) -> None:
    created = create_customer(ctx, CustomerCreate(external_id="acme", name="Acme"))
    ctx.session.flush()
    created.name = "changed in this session"
    again = adopt(ctx.session, Customer, _columns(ctx, "acme"))
    assert again is created
    assert again.name == "changed in this session"


def test_a_held_expired_object_is_filled_from_the_row_without_a_query(
    ctx: Context, engine: Any
) -> None:
    created = create_customer(ctx, CustomerCreate(external_id="acme", name="Acme"))
    ctx.session.flush()
    values = _columns(ctx, "acme")
    ctx.session.expire(created)
    statements: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        again = adopt(ctx.session, Customer, values)
        assert again is created
        assert (again.external_id, again.name) == ("acme", "Acme")
    finally:
        event.remove(engine, "before_cursor_execute", note)
    assert statements == []


def test_an_object_with_a_composite_key_is_found_by_it(ctx: Context) -> None:
    customer = create_customer(ctx, CustomerCreate(external_id="acme"))
    state = QuotaState(
        customer_id=customer.id, metric_code="api_calls", product_id=ctx.product_id, stale=False
    )
    ctx.session.add(state)
    ctx.session.flush()
    keys = [prop.key for prop in QuotaState.__mapper__.column_attrs]
    row = ctx.session.connection().execute(select(*(getattr(QuotaState, k) for k in keys)))
    assert adopt(ctx.session, QuotaState, dict(zip(keys, row.one(), strict=True))) is state

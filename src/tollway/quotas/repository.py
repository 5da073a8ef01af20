"""All SQL of quotas, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import (
    Numeric,
    Row,
    Select,
    String,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql.elements import BindParameter

from tollway.catalog import BillableMetric, Plan
from tollway.customers import Customer
from tollway.kernel.context import Context
from tollway.kernel.db import adopt, conflict_insert, pg_array
from tollway.kernel.tenancy import Product
from tollway.quotas.models import QuotaAlert, QuotaOverride, QuotaState, QuotaSuspension
from tollway.subscriptions import LIVE, Subscription

S = TypeVar("S", bound=Select[Any])


CUSTOMER, STATE = "customer__", "state__"
"""Prefixes of the customer's and the state row's columns in :func:`_resolve_statement`."""


def _labelled(model: Any, prefix: str) -> list[Any]:
    """Every column attribute of ``model``, labelled ``prefix`` + its key."""
    return [getattr(model, key).label(prefix + key) for key in _keys(model)]


@cache
def _keys(model: Any) -> tuple[str, ...]:
    return tuple(prop.key for prop in model.__mapper__.column_attrs)


@dataclass(frozen=True, slots=True)
class Resolved:
    """What :meth:`QuotaRepository.resolve` read: the customer and its state row of
    the metric (``None`` when there is none yet) as the session's objects, and the
    statement's row for the rest."""

    customer: Customer
    state: QuotaState | None
    row: Row[Any]


@cache
def _resolve_statement(scoped: bool) -> Select[Any]:
    """Everything a check or consume reads, in one statement (built once per process;
    the values are bound parameters): the customer, the product's settings, whether
    it is suspended, the
    metric, the live subscription with its plan, the default plan, the customer's
    override of the metric and its state row."""
    product: BindParameter[str] = bindparam("product", type_=String)
    metric: BindParameter[str] = bindparam("metric", type_=String)
    plan, default = aliased(Plan), aliased(Plan)
    live = (
        select(Subscription.id)
        .where(
            Subscription.product_id == product,
            Subscription.customer_id == Customer.id,
            # plain binds: an IN list's values would be expanded into the SQL text
            # on every execution
            or_(*(Subscription.status == status for status in sorted(LIVE))),
        )
        .order_by(Subscription.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
    default_id = (
        select(Plan.id)
        .where(Plan.product_id == product, Plan.is_default.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    suspended = (
        exists()
        .where(QuotaSuspension.product_id == product, QuotaSuspension.customer_id == Customer.id)
        .correlate(Customer)
    )
    stmt = (
        select(
            *_labelled(Customer, CUSTOMER),
            *_labelled(QuotaState, STATE),
            Product.settings.label("product_settings"),
            suspended.label("suspended"),
            BillableMetric.code,
            BillableMetric.aggregation,
            BillableMetric.field,
            BillableMetric.filters,
            BillableMetric.group_by,
            Subscription.status.label("sub_status"),
            Subscription.plan_code.label("sub_plan"),
            Subscription.current_period_start,
            Subscription.current_period_end,
            plan.code.label("plan_code"),
            plan.features.label("plan_features"),
            plan.quotas.label("plan_quotas"),
            default.code.label("default_code"),
            default.features.label("default_features"),
            default.quotas.label("default_quotas"),
            QuotaOverride.limit.label("override_limit"),
            QuotaOverride.period.label("override_period"),
            QuotaOverride.enforcement.label("override_enforcement"),
            QuotaOverride.thresholds.label("override_thresholds"),
        )
        .select_from(Customer)
        .join(Product, Product.id == Customer.product_id)
        .outerjoin(
            BillableMetric,
            and_(BillableMetric.product_id == product, BillableMetric.code == metric),
        )
        .outerjoin(Subscription, Subscription.id == live)
        .outerjoin(plan, and_(plan.product_id == product, plan.code == Subscription.plan_code))
        .outerjoin(default, default.id == default_id)
        .outerjoin(
            QuotaOverride,
            and_(
                QuotaOverride.product_id == product,
                QuotaOverride.customer_id == Customer.id,
                QuotaOverride.metric_code == metric,
            ),
        )
        .outerjoin(
            QuotaState,
            and_(
                QuotaState.product_id == product,
                QuotaState.customer_id == Customer.id,
                QuotaState.metric_code == metric,
            ),
        )
        .where(Customer.product_id == product, Customer.external_id == bindparam("external_id"))
    )
    if scoped:
        stmt = stmt.where(Customer.id == bindparam("scope"))
    return stmt


@cache
def _count_statement(postgres: bool, limited: bool) -> Any:
    """The counter's single-statement increment: on PostgreSQL the row is locked and
    the limit judged by the UPDATE itself (re-checked on the newest row version after
    a wait), on SQLite (one writer at a time) it is set only if still ``expected``."""
    where = [
        QuotaState.product_id == bindparam("product"),
        QuotaState.customer_id == bindparam("customer"),
        QuotaState.metric_code == bindparam("metric"),
        QuotaState.period_key == bindparam("key"),
        QuotaState.stale.is_(False),
        QuotaState.used.is_not(None),
    ]
    if not postgres:
        where.append(QuotaState.used == bindparam("expected"))
        return update(QuotaState).where(*where).values(used=bindparam("new"))
    total = cast(QuotaState.used, Numeric) + bindparam("increment", type_=Numeric)
    if limited:
        where.append(total <= bindparam("limit"))
    return (
        update(QuotaState).where(*where).values(used=cast(total, String)).returning(QuotaState.used)
    )


_MARK_STALE_PG = (
    "INSERT INTO quota_states (customer_id, metric_code, product_id, stale) "
    "SELECT u.customer, u.metric, :product, true FROM unnest("
    "CAST(:customers AS varchar[]), CAST(:metrics AS varchar[])) "
    "WITH ORDINALITY AS u(customer, metric, n) ORDER BY u.n "
    "ON CONFLICT (customer_id, metric_code) DO UPDATE SET stale = true"
)
"""The upsert of :meth:`QuotaRepository.mark_stale` on PostgreSQL: one statement of
fixed text for any number of pairs (two array parameters, in key order)."""


@cache
def _mark_stale_sqlite() -> Any:
    """The same upsert on SQLite, built once and run with a list of rows (SQLite runs
    them in one C loop)."""
    return (
        sqlite.insert(QuotaState)
        .values(
            customer_id=bindparam("customer"),
            metric_code=bindparam("metric"),
            product_id=bindparam("product"),
            stale=True,
        )
        .on_conflict_do_update(
            index_elements=[QuotaState.customer_id, QuotaState.metric_code], set_={"stale": True}
        )
    )


class QuotaRepository:
    """Quota rows visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _scoped(self, stmt: S, model: Any) -> S:
        stmt = stmt.where(model.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(model.customer_id == self.ctx.customer_scope)
        return stmt

    def resolve(self, external_id: str, metric: str) -> Resolved | None:
        """:func:`_resolve_statement` for the customer and metric (``None`` when the
        customer is absent or out of scope). It runs as a plain statement, and the
        customer and state row join the session from its columns: the ORM's own
        loading took half of the statement's time (docs/benchmarks.md)."""
        params: dict[str, Any] = {
            "product": self.ctx.product_id,
            "metric": metric,
            "external_id": external_id,
        }
        scoped = self.ctx.customer_scope is not None
        if scoped:
            params["scope"] = self.ctx.customer_scope
        session = self.ctx.session
        if session.autoflush:  # as the ORM's execute does: the statement sees pending changes
            session.flush()
        row = session.connection().execute(_resolve_statement(scoped), params).first()
        if row is None:
            return None
        values = row._mapping
        customer = adopt(session, Customer, {k: values[CUSTOMER + k] for k in _keys(Customer)})
        state = None
        if values[STATE + "customer_id"] is not None:
            state = adopt(session, QuotaState, {k: values[STATE + k] for k in _keys(QuotaState)})
        return Resolved(customer, state, row)

    # overrides

    def overrides(self, customer_id: str, metric: str | None = None) -> list[QuotaOverride]:
        stmt = self._scoped(select(QuotaOverride), QuotaOverride).where(
            QuotaOverride.customer_id == customer_id
        )
        if metric is not None:
            stmt = stmt.where(QuotaOverride.metric_code == metric)
        return list(self.ctx.session.scalars(stmt.order_by(QuotaOverride.metric_code)))

    def override(self, customer_id: str, metric: str) -> QuotaOverride | None:
        stmt = self._scoped(select(QuotaOverride), QuotaOverride).where(
            QuotaOverride.customer_id == customer_id, QuotaOverride.metric_code == metric
        )
        return self.ctx.session.scalar(stmt.with_for_update())

    def add(self, row: object) -> None:
        self.ctx.session.add(row)
        self.ctx.session.flush()

    def remove(self, row: object) -> None:
        self.ctx.session.delete(row)
        self.ctx.session.flush()

    # state (lock row and grace)

    def state(self, customer_id: str, metric: str) -> QuotaState | None:
        stmt = self._scoped(select(QuotaState), QuotaState).where(
            QuotaState.customer_id == customer_id, QuotaState.metric_code == metric
        )
        return self.ctx.session.scalar(stmt)

    def states(self, customer_id: str) -> dict[str, QuotaState]:
        stmt = self._scoped(select(QuotaState), QuotaState).where(
            QuotaState.customer_id == customer_id
        )
        return {s.metric_code: s for s in self.ctx.session.scalars(stmt)}

    def lock_state(self, customer_id: str, metric: str) -> QuotaState:
        """The (customer, metric) state row, created if missing, locked until commit.

        Every consume of the pair takes this lock first, so they run one at a time.
        """
        stmt = (
            self._scoped(select(QuotaState), QuotaState)
            .where(QuotaState.customer_id == customer_id, QuotaState.metric_code == metric)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        found = self.ctx.session.scalar(stmt)
        if found is not None:
            return found
        self.ctx.session.execute(
            conflict_insert(self.ctx.session, QuotaState)
            .values(customer_id=customer_id, metric_code=metric, product_id=self.ctx.product_id)
            .on_conflict_do_nothing()
        )
        return self.ctx.session.scalars(stmt).one()

    def add_to_counter(
        self, state: QuotaState, period_key: str, increment: Decimal, limit: int | None
    ) -> Decimal | None:
        """Add ``increment`` to the ``state`` row's counter of ``period_key`` in one
        statement, unless the counter is stale, of another period or the sum would pass
        ``limit`` (``None``: unlimited). The new value, or ``None`` when not counted;
        the row stays locked until commit."""
        postgres = self.ctx.session.get_bind().dialect.name == "postgresql"
        params: dict[str, Any] = {
            "product": self.ctx.product_id,
            "customer": state.customer_id,
            "metric": state.metric_code,
            "key": period_key,
        }
        connection = self.ctx.session.connection()
        if postgres:
            params.update(increment=increment, limit=limit)
            found = connection.execute(_count_statement(True, limit is not None), params).first()
            used = None if found is None else Decimal(found[0])
        else:
            if state.used is None:
                return None
            used = state.used + increment
            if limit is not None and used > limit:
                return None
            params.update(expected=str(state.used), new=str(used))
            if not connection.execute(_count_statement(False, False), params).rowcount:
                return None
        if used is not None:
            set_committed_value(state, "used", used)
        return used

    def mark_stale(self, pairs: list[tuple[str, str]]) -> None:
        """Flag the counters of ``(customer_id, metric)`` pairs for a recount (rows
        created when missing), in key order so concurrent writers lock alike."""
        if not pairs:
            return
        keys = sorted(set(pairs))
        connection = self.ctx.session.connection()
        if connection.dialect.name == "postgresql":
            connection.execute(
                text(_MARK_STALE_PG),
                {
                    "product": self.ctx.product_id,
                    "customers": pg_array([customer for customer, _ in keys]),
                    "metrics": pg_array([metric for _, metric in keys]),
                },
            )
            return
        rows = [{"customer": c, "metric": m, "product": self.ctx.product_id} for c, m in keys]
        connection.execute(_mark_stale_sqlite(), rows)

    def stale_states(self) -> list[QuotaState]:
        stmt = self._scoped(select(QuotaState), QuotaState).where(QuotaState.stale.is_(True))
        return list(
            self.ctx.session.scalars(stmt.order_by(QuotaState.customer_id, QuotaState.metric_code))
        )

    # alerts

    def fire_alert(
        self,
        customer_id: str,
        metric: str,
        period_start: datetime,
        threshold: int,
        *,
        data: dict[str, Any],
        now: datetime,
    ) -> bool:
        """Record that ``threshold`` fired in the period; ``False`` when it already had."""
        result = self.ctx.session.execute(
            conflict_insert(self.ctx.session, QuotaAlert)
            .values(
                customer_id=customer_id,
                metric_code=metric,
                period_start=period_start,
                threshold=threshold,
                product_id=self.ctx.product_id,
                data=data,
                fired_at=now,
            )
            .on_conflict_do_nothing()
            .returning(QuotaAlert.threshold)
        )
        return result.first() is not None

    # suspensions

    def suspension(self, customer_id: str) -> QuotaSuspension | None:
        stmt = self._scoped(select(QuotaSuspension), QuotaSuspension).where(
            QuotaSuspension.customer_id == customer_id
        )
        return self.ctx.session.scalar(stmt)

    def suspend(self, customer_id: str, reason: str, now: datetime) -> bool:
        result = self.ctx.session.execute(
            conflict_insert(self.ctx.session, QuotaSuspension)
            .values(
                customer_id=customer_id,
                product_id=self.ctx.product_id,
                reason=reason,
                suspended_at=now,
            )
            .on_conflict_do_nothing()
            .returning(QuotaSuspension.customer_id)
        )
        return result.first() is not None

    def reinstate(self, customer_id: str, *, reason: str | None = None) -> bool:
        """Lift the customer's suspension; with ``reason``, only a suspension for it."""
        stmt = delete(QuotaSuspension).where(
            QuotaSuspension.product_id == self.ctx.product_id,
            QuotaSuspension.customer_id == customer_id,
        )
        if reason is not None:
            stmt = stmt.where(QuotaSuspension.reason == reason)
        result = self.ctx.session.execute(stmt)
        return bool(result.rowcount)  # type: ignore[attr-defined]

"""All SQL of quotas, filtered by product and, for scoped callers, by customer."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from tollway.kernel.context import Context
from tollway.quotas.models import QuotaAlert, QuotaOverride, QuotaState, QuotaSuspension

S = TypeVar("S", bound=Select[Any])


class QuotaRepository:
    """Quota rows visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _insert(self, model: type[Any]) -> Any:
        dialect = self.ctx.session.get_bind().dialect.name
        return (pg_insert if dialect == "postgresql" else sqlite_insert)(model)

    def _scoped(self, stmt: S, model: Any) -> S:
        stmt = stmt.where(model.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(model.customer_id == self.ctx.customer_scope)
        return stmt

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
            self._insert(QuotaState)
            .values(customer_id=customer_id, metric_code=metric, product_id=self.ctx.product_id)
            .on_conflict_do_nothing()
        )
        return self.ctx.session.scalars(stmt).one()

    def mark_stale(self, pairs: list[tuple[str, str]]) -> None:
        """Flag the counters of ``(customer_id, metric)`` pairs for a recount (rows
        created when missing), in key order so concurrent writers lock alike."""
        if not pairs:
            return
        stmt = self._insert(QuotaState).values(
            [
                {
                    "customer_id": customer_id,
                    "metric_code": metric,
                    "product_id": self.ctx.product_id,
                    "stale": True,
                }
                for customer_id, metric in sorted(set(pairs))
            ]
        )
        self.ctx.session.execute(
            stmt.on_conflict_do_update(
                index_elements=[QuotaState.customer_id, QuotaState.metric_code],
                set_={"stale": True},
            )
        )

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
            self._insert(QuotaAlert)
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
            self._insert(QuotaSuspension)
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

"""All SQL of notifications, filtered by product and, for scoped callers, customer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import IntegrityError

from tollway.kernel.context import Context
from tollway.kernel.pagination import Page, PageRequest, paginate
from tollway.notifications.models import AlertPreferences, Notification


class NotificationRepository:
    """Notifications and alert preferences visible to ``ctx``."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _readable(self) -> Select[Notification]:
        stmt = select(Notification).where(Notification.product_id == self.ctx.product_id)
        if self.ctx.customer_scope is not None:
            stmt = stmt.where(Notification.customer_id == self.ctx.customer_scope)
        return stmt

    def by_id(self, notification_id: str) -> Notification | None:
        return self.ctx.session.scalar(self._readable().where(Notification.id == notification_id))

    def of_customer(
        self, customer_id: str | None, page: PageRequest, *, unread_only: bool
    ) -> Page[Notification]:
        stmt = self._readable().where(_customer_is(customer_id))
        if unread_only:
            stmt = stmt.where(Notification.read_at.is_(None))
        return paginate(self.ctx.session, stmt, Notification.id, page)

    def unread_count(self, customer_id: str | None) -> int:
        stmt = (
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.product_id == self.ctx.product_id,
                _customer_is(customer_id),
                Notification.read_at.is_(None),
            )
        )
        return self.ctx.session.scalar(stmt) or 0

    def latest_since(
        self, customer_id: str | None, type: str, subject: str, since: datetime
    ) -> Notification | None:
        stmt = (
            select(Notification)
            .where(
                Notification.product_id == self.ctx.product_id,
                _customer_is(customer_id),
                Notification.type == type,
                Notification.subject == subject,
                Notification.created_at > since,
            )
            .order_by(Notification.created_at.desc())
            .limit(1)
        )
        return self.ctx.session.scalar(stmt)

    def preferences(self, customer_id: str, *, lock: bool = False) -> AlertPreferences | None:
        stmt = select(AlertPreferences).where(
            AlertPreferences.product_id == self.ctx.product_id,
            AlertPreferences.customer_id == customer_id,
        )
        if lock:
            stmt = stmt.with_for_update()
        return self.ctx.session.scalar(stmt)

    def add(self, row: Notification | AlertPreferences) -> None:
        self.ctx.session.add(row)
        self.ctx.session.flush()

    def in_period(self, customer_id: str | None, type: str, subject: str, period_key: str) -> bool:
        stmt = select(Notification.id).where(
            Notification.product_id == self.ctx.product_id,
            _customer_is(customer_id),
            Notification.type == type,
            Notification.subject == subject,
            Notification.period_key == period_key,
        )
        return self.ctx.session.scalar(stmt.limit(1)) is not None

    def add_once(self, notification: Notification) -> bool:
        """Insert unless its (type, subject, period) exists, also when a concurrent
        transaction inserts it first (the unique constraint decides)."""
        try:
            with self.ctx.session.begin_nested():
                self.ctx.session.add(notification)
                self.ctx.session.flush()
        except IntegrityError:
            return False
        return True


def _customer_is(customer_id: str | None) -> ColumnElement[bool]:
    if customer_id is None:
        return Notification.customer_id.is_(None)
    return Notification.customer_id == customer_id

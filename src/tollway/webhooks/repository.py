"""All SQL of webhooks, filtered by product. Endpoints are product-level: customer
keys never reach them (services require full access)."""

from __future__ import annotations

from sqlalchemy import Select, select

from tollway.kernel.context import Context
from tollway.kernel.outbox import Event
from tollway.kernel.pagination import Page, PageRequest, paginate
from tollway.webhooks.models import ENABLED, WebhookAttempt, WebhookDelivery, WebhookEndpoint


class WebhookRepository:
    """Endpoints, deliveries and attempts of ``ctx``'s product."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _endpoints(self) -> Select[WebhookEndpoint]:
        return select(WebhookEndpoint).where(WebhookEndpoint.product_id == self.ctx.product_id)

    def _deliveries(self) -> Select[WebhookDelivery]:
        return select(WebhookDelivery).where(WebhookDelivery.product_id == self.ctx.product_id)

    def endpoint(self, endpoint_id: str, *, lock: bool = False) -> WebhookEndpoint | None:
        stmt = self._endpoints().where(WebhookEndpoint.id == endpoint_id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self.ctx.session.scalar(stmt)

    def endpoints(self, page: PageRequest) -> Page[WebhookEndpoint]:
        return paginate(self.ctx.session, self._endpoints(), WebhookEndpoint.id, page)

    def enabled_endpoints(self) -> list[WebhookEndpoint]:
        stmt = self._endpoints().where(WebhookEndpoint.status == ENABLED)
        return list(self.ctx.session.scalars(stmt.order_by(WebhookEndpoint.id)))

    def delivery(self, delivery_id: str, *, lock: bool = False) -> WebhookDelivery | None:
        stmt = self._deliveries().where(WebhookDelivery.id == delivery_id)
        if lock:
            stmt = stmt.with_for_update().execution_options(populate_existing=True)
        return self.ctx.session.scalar(stmt)

    def deliveries(
        self, endpoint_id: str, page: PageRequest, *, status: str | None = None
    ) -> Page[WebhookDelivery]:
        stmt = self._deliveries().where(WebhookDelivery.endpoint_id == endpoint_id)
        if status is not None:
            stmt = stmt.where(WebhookDelivery.status == status)
        return paginate(self.ctx.session, stmt, WebhookDelivery.id, page)

    def attempts(self, delivery_id: str) -> list[WebhookAttempt]:
        stmt = (
            select(WebhookAttempt)
            .where(
                WebhookAttempt.product_id == self.ctx.product_id,
                WebhookAttempt.delivery_id == delivery_id,
            )
            .order_by(WebhookAttempt.number, WebhookAttempt.id)
        )
        return list(self.ctx.session.scalars(stmt))

    def event(self, event_id: str) -> Event | None:
        return self.ctx.session.scalar(
            select(Event).where(Event.id == event_id, Event.product_id == self.ctx.product_id)
        )

    def add(self, row: WebhookEndpoint | WebhookDelivery | WebhookAttempt) -> None:
        self.ctx.session.add(row)
        self.ctx.session.flush()

    def delete(self, endpoint: WebhookEndpoint) -> None:
        self.ctx.session.delete(endpoint)
        self.ctx.session.flush()

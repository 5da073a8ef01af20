"""The audit log: who changed what, with the state before and after.

Written in the same transaction as the change, by the service that makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, mapped_column

from tollway.kernel.access import require_full_access
from tollway.kernel.context import Context
from tollway.kernel.db import Base
from tollway.kernel.ids import new_id
from tollway.kernel.pagination import Page, PageRequest, paginate


class AuditRecord(Base):
    """One change: ``actor`` did ``action`` to ``subject_type``/``subject_id``."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index(None, "product_id", "subject_id", "id"),
        Index(None, "product_id", "customer_id", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    subject_type: Mapped[str] = mapped_column(String(50))
    subject_id: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str | None] = mapped_column(String(40))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]


def audit(
    ctx: Context,
    action: str,
    *,
    subject_type: str,
    subject_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    customer_id: str | None = None,
    test_clock_id: str | None = None,
) -> AuditRecord:
    """Record a change made by ``ctx.actor`` in the caller's transaction."""
    record = AuditRecord(
        id=new_id("aud"),
        product_id=ctx.product_id,
        actor=ctx.actor,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        customer_id=customer_id,
        before=before,
        after=after,
        created_at=ctx.now(test_clock_id),
    )
    ctx.session.add(record)
    return record


def list_audit(
    ctx: Context,
    page: PageRequest,
    *,
    subject_id: str | None = None,
    customer_id: str | None = None,
) -> Page[AuditRecord]:
    """Audit records of the product, newest first, by subject or customer."""
    require_full_access(ctx, "read the audit log")
    stmt = select(AuditRecord).where(AuditRecord.product_id == ctx.product_id)
    if subject_id is not None:
        stmt = stmt.where(AuditRecord.subject_id == subject_id)
    if customer_id is not None:
        stmt = stmt.where(AuditRecord.customer_id == customer_id)
    return paginate(ctx.session, stmt, AuditRecord.id, page)

"""``/v1/audit-log``: who changed what (secret keys only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from tollway import customers
from tollway.api.deps import Ctx, PageDep
from tollway.api.routing import resource_router
from tollway.api.schemas import ListOut
from tollway.kernel.audit import AuditRecord, list_audit

router = resource_router("audit")


class AuditOut(BaseModel):
    id: str
    actor: str
    action: str
    subject_type: str
    subject_id: str
    customer_id: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created: datetime


def _out(record: AuditRecord) -> AuditOut:
    return AuditOut(
        id=record.id,
        actor=record.actor,
        action=record.action,
        subject_type=record.subject_type,
        subject_id=record.subject_id,
        customer_id=record.customer_id,
        before=record.before,
        after=record.after,
        created=record.created_at,
    )


@router.get("/audit-log")
def get_audit_log(
    ctx: Ctx,
    page: PageDep,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    customer_id: Annotated[str | None, Query(max_length=255)] = None,
) -> ListOut[AuditOut]:
    """Changes, newest first; ``customer_id`` is the customer's external id."""
    internal = customers.get_customer(ctx, customer_id).id if customer_id else None
    return ListOut.of(list_audit(ctx, page, subject_id=subject_id, customer_id=internal), _out)

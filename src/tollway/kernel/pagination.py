"""Cursor pagination: ``{data, has_more}`` with ``limit`` and ``starting_after``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

T = TypeVar("T")

MAX_LIMIT = 100


@dataclass(frozen=True)
class PageRequest:
    """At most ``limit`` items after the item with id ``starting_after``."""

    limit: int = 10
    starting_after: str | None = None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of items and whether more follow."""

    data: list[T]
    has_more: bool


def paginate(
    session: Session,
    stmt: Select[T],
    id_column: InstrumentedAttribute[Any],
    page: PageRequest,
) -> Page[T]:
    """Run ``stmt`` newest first (ids sort by creation), one page of it."""
    if page.starting_after is not None:
        stmt = stmt.where(id_column < page.starting_after)
    rows = list(session.scalars(stmt.order_by(id_column.desc()).limit(page.limit + 1)))
    return Page(data=rows[: page.limit], has_more=len(rows) > page.limit)

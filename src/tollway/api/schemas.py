"""Shapes shared by every API resource."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from pydantic import BaseModel

from tollway.kernel.pagination import Page

T = TypeVar("T")
S = TypeVar("S")


class ListOut(BaseModel, Generic[T]):
    """``{"data": [...], "has_more": bool}``."""

    data: list[T]
    has_more: bool

    @classmethod
    def of(cls, page: Page[S], convert: Callable[[S], T]) -> ListOut[T]:
        return cls(data=[convert(item) for item in page.data], has_more=page.has_more)

"""Paging for lists: page numbers from the query string, one row more to see a next page."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.requests import Request

T = TypeVar("T")
PAGE_SIZE = 25
MAX_PAGE = 10_000


def page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return min(int(raw), MAX_PAGE) if raw.isdigit() and int(raw) > 0 else 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: Sequence[T]
    number: int
    has_next: bool

    @classmethod
    def of(cls, fetched: Sequence[T], number: int) -> Page[T]:
        """``fetched`` holds up to PAGE_SIZE + 1 rows (see ``window``)."""
        return cls(fetched[:PAGE_SIZE], number, len(fetched) > PAGE_SIZE)


def window(number: int) -> tuple[int, int]:
    """(limit, offset) for page ``number``, asking for one extra row."""
    return PAGE_SIZE + 1, (number - 1) * PAGE_SIZE

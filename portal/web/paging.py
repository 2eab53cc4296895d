"""Paging for lists: page numbers from the query string, one row more to see a next page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from starlette.requests import Request

from portal.domain.accounts import Account
from portal.web.inputs import whole_number
from portal.web.visit import Visit

T = TypeVar("T")
PAGE_SIZE = 25
MAX_PAGE = 10_000


def page_number(request: Request) -> int:
    return number_from(request.query_params.get("page", "1"))


def number_from(raw: str) -> int:
    """A page number as typed (query string or form field): 1 to ``MAX_PAGE`` (an offset
    a database reads quickly), 1 for anything else (web/inputs.py: "²", 5000 digits)."""
    return whole_number(raw, MAX_PAGE) or 1


@dataclass(frozen=True)
class Page(Generic[T]):
    """A page of rows; hashable when its rows are (a cache key for its markup)."""

    items: tuple[T, ...]
    number: int
    has_next: bool

    @classmethod
    def of(cls, fetched: Sequence[T], number: int, size: int = PAGE_SIZE) -> Page[T]:
        """``fetched`` holds up to ``size`` + 1 rows (see ``window``)."""
        return cls(tuple(fetched[:size]), number, len(fetched) > size)


def window(number: int, size: int = PAGE_SIZE) -> tuple[int, int]:
    """(limit, offset) for page ``number``, asking for one extra row."""
    return size + 1, (number - 1) * size


async def visible_page(
    request: Request,
    visit: Visit,
    lookup: Callable[[Any, Account, int, int], Awaitable[Sequence[T]]],
) -> Page[T]:
    """The page (number in the query string) of what ``lookup``, a listing of
    domain/visibility.py, shows this staff member."""
    number = page_number(request)
    limit, offset = window(number)
    return Page.of(await lookup(visit.services.db, visit.staff, limit, offset), number)

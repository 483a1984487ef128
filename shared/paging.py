"""Paged lists: every list endpoint takes ``limit`` (at most :data:`MAX_PAGE_SIZE`) and ``offset``
and answers ``next_offset`` (None on the last page), so no request can ask for a whole table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from fastapi import Query

from shared.limits import MAX_PAGE_SIZE

T = TypeVar("T")
DEFAULT_PAGE_SIZE = 100
#: deep offsets cost the database a scan; past this, narrow the query instead
MAX_OFFSET = 100_000


@dataclass(frozen=True)
class Page:
    limit: int = DEFAULT_PAGE_SIZE
    offset: int = 0

    @property
    def fetch(self) -> int:
        """Rows to ask the database for: one more than the page, to know whether another follows."""
        return self.limit + 1

    def cut(self, rows: Sequence[T]) -> tuple[list[T], int | None]:
        """The page's rows and the next page's offset (None when this page is the last)."""
        more = len(rows) > self.limit
        return list(rows[: self.limit]), (self.offset + self.limit if more else None)


async def page(
    limit: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="entries per page"),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="entries to skip (the previous page's next_offset)"),
) -> Page:
    """FastAPI dependency: the requested page."""
    return Page(limit=limit, offset=offset)

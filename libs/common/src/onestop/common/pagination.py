"""Cursor pagination for every list endpoint (`limit`, `cursor`, `next_cursor`).

A list answers `{"items": [...], "next_cursor": "..." | null}` in a stable order (`Page[T]`); the next page
is asked with `?cursor=<next_cursor>` and the same filters. The cursor is opaque to callers: the sort key
of the page's last item, as base64url JSON, checked against the key's types when it comes back, so a
cursor that is not one the endpoint gave is a 422 naming `cursor` (never a 5xx). `limit` is bounded
(1..500, default 100); out of bounds it is a 422 naming `limit`.

A list that DESIGN §9.1 pins as a bare JSON array (`GET /v1/hospitals`) stays one: it is paginated only when
the caller gives `limit`, and then the next cursor travels in the `Next-Cursor` header and a
`Link: <…>; rel="next"` header (`set_next_headers`).

Use: `page: PageDep` as a parameter; in SQL, order by the key, filter `key > page.after(types)` and fetch
`page.limit + 1` rows, then `page.of(rows, key)`; in memory, `page.slice(sorted_items, key, types)`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from pydantic import BaseModel, Field

from onestop.common.errors import InvalidInput, field_error

T = TypeVar("T")
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
BIGINT_MAX = 2**63 - 1  # PostgreSQL's bigint: a larger integer in a query is the database's error, a 500
Key = tuple[str | int, ...]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_cursor` is null on the last one."""

    items: list[T]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null on the last page")


def encode_cursor(key: Key) -> str:
    """The opaque cursor of a sort key (strings and integers)."""
    raw = json.dumps(list(key), separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def invalid_cursor() -> InvalidInput:
    """The 422 for a cursor the list did not give (also for a key whose parts do not parse)."""
    return InvalidInput("cursor is not one this list gave", errors=[field_error("cursor", "unknown cursor")])


def decode_cursor(cursor: str, types: Sequence[type]) -> Key:
    """The sort key a cursor carries, checked against the key's types (422 naming `cursor` otherwise)."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_cursor() from None
    if not isinstance(key, list) or len(key) != len(types) or not all(
            type(v) is t for v, t in zip(key, types, strict=True)):  # bool is not an int here
        raise invalid_cursor()
    if any(isinstance(v, int) and not -BIGINT_MAX - 1 <= v <= BIGINT_MAX for v in key):
        raise invalid_cursor()
    return tuple(key)


@dataclass(frozen=True)
class PageRequest:
    """`limit` and `cursor` as the caller gave them (validated bounds; the cursor still opaque)."""

    limit: int
    cursor: str | None
    limit_given: bool = True

    def after(self, types: Sequence[type]) -> Key | None:
        """The sort key to continue after, None on the first page."""
        return decode_cursor(self.cursor, types) if self.cursor else None

    def of(self, items: Sequence[T], key: Callable[[T], Key]) -> tuple[list[T], str | None]:
        """The page of `items` fetched as `limit + 1` rows after the cursor, and the next cursor."""
        page = list(items[: self.limit])
        return page, encode_cursor(key(page[-1])) if len(items) > self.limit else None

    def slice(self, items: Sequence[T], key: Callable[[T], Key], types: Sequence[type]) -> tuple[list[T], str | None]:
        """The page of an in-memory list already sorted by `key`, and the next cursor."""
        after = self.after(types)
        rest = [i for i in items if key(i) > after] if after is not None else list(items)
        return self.of(rest[: self.limit + 1], key)


LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=f"items per page (1–{MAX_LIMIT})")]
CursorQuery = Annotated[str | None, Query(max_length=512, description="`next_cursor` of the previous page")]


async def page_request(limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


async def optional_page_request(limit: Annotated[int | None, Query(
        ge=1, le=MAX_LIMIT, description="paginate: items per page; the next cursor is in `Next-Cursor`")] = None,
        cursor: CursorQuery = None) -> PageRequest:
    """For the pinned arrays: the whole list unless `limit` (or a cursor) is given."""
    given = limit is not None or cursor is not None
    return PageRequest(limit=limit or (DEFAULT_LIMIT if cursor else 1_000_000), cursor=cursor, limit_given=given)


PageDep = Annotated[PageRequest, Depends(page_request)]
OptionalPageDep = Annotated[PageRequest, Depends(optional_page_request)]

NEXT_HEADERS = {200: {"headers": {
    "Next-Cursor": {"description": "present when there is a next page: pass it as `cursor`",
                    "schema": {"type": "string"}},
    "Link": {"description": 'the next page as `<url>; rel="next"` (RFC 8288)', "schema": {"type": "string"}},
}}}


def set_next_headers(request: Request, response: Response, next_cursor: str | None) -> None:
    """For a list answered as a bare array: the next page's cursor in `Next-Cursor` and `Link`."""
    if next_cursor is None:
        return
    url = request.url.include_query_params(cursor=next_cursor)
    response.headers["Next-Cursor"] = next_cursor
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'

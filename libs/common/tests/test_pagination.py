"""The shared cursor pagination: opaque cursors that round-trip, and bad ones or bad limits as 422 problems."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import MetaData

from onestop.common.errors import InvalidInput
from onestop.common.pagination import Page, PageDep, decode_cursor, encode_cursor
from onestop.common.service_app import build_app
from onestop.common.settings import ServiceSettings
from onestop.common.testing import all_items, bearer, settings_keys

ITEMS = [{"code": f"C{i:03d}", "n": i} for i in range(7)]
router = APIRouter(prefix="/v1")


@router.get("/items", response_model=Page[dict[str, Any]])
async def list_items(page: PageDep) -> Any:
    items, next_cursor = page.slice(ITEMS, lambda i: (i["code"], i["n"]), (str, int))
    return Page[dict[str, Any]](items=items, next_cursor=next_cursor)


def test_a_cursor_round_trips_and_is_checked() -> None:
    assert decode_cursor(encode_cursor(("张三", 7)), (str, int)) == ("张三", 7)
    for bad in ("x", "!!", encode_cursor(("a",)), encode_cursor((1, "a")), encode_cursor(("a", True)),
                encode_cursor(("a", 2**63)),
                base64.urlsafe_b64encode(b'{"a": 1}').decode(), base64.urlsafe_b64encode(b"\xff").decode()):
        with pytest.raises(InvalidInput) as exc:
            decode_cursor(bad, (str, int))
        assert exc.value.errors == [{"field": "cursor", "reason": "unknown cursor"}]


async def test_pages_cover_the_list_once_and_bad_input_is_a_422_naming_the_field() -> None:
    app = build_app(ServiceSettings(service="ledger", **settings_keys("ledger")), title="t", description="t",
                    metadata=MetaData(), routers=[router])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert await all_items(client, "/v1/items", headers=bearer(), params={"limit": 3}) == ITEMS
        first = (await client.get("/v1/items", params={"limit": 7}, headers=bearer())).json()
        assert first == {"items": ITEMS, "next_cursor": None}
        assert (await client.get("/v1/items", headers=bearer())).json()["items"] == ITEMS  # default limit 100
        for params, field in (({"limit": 0}, "limit"), ({"limit": 501}, "limit"), ({"limit": "x"}, "limit"),
                              ({"cursor": "bm90IGpzb24"}, "cursor"), ({"cursor": encode_cursor((1, 2))}, "cursor")):
            r = await client.get("/v1/items", params=params, headers=bearer())
            assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
            assert [e["field"] for e in r.json()["errors"]] == [field], (params, r.text)

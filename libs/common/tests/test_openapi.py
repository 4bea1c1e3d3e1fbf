"""Every error answer the shared machinery gives is documented in each operation's OpenAPI, as a problem."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import APIRouter, Depends, Form
from sqlalchemy import MetaData

from onestop.common.idempotency import IdempotencyKeyHeader
from onestop.common.openapi import declares_problems, problem_responses
from onestop.common.service_app import build_app
from onestop.common.settings import ServiceSettings
from onestop.common.testing import mint, settings_keys


@declares_problems(429)
async def limited() -> None:
    """A dependency that may answer 429 (as the rate limit does)."""


router = APIRouter(prefix="/v1")


@router.get("/things/{thing_id}")
async def get_thing(thing_id: str) -> dict[str, str]:
    return {"thing_id": thing_id}


@router.post("/things", status_code=201, responses=problem_responses(413))
async def add_thing(name: Annotated[str, Form()], idempotency_key: IdempotencyKeyHeader = None) -> dict[str, str]:
    return {"name": name}


@router.get("/plain", dependencies=[Depends(limited)])
async def plain() -> dict[str, str]:
    return {}


def _app() -> Any:
    settings = ServiceSettings(service="ledger", **settings_keys("ledger"))
    return build_app(settings, title="t", description="t", metadata=MetaData(), routers=[router])


def _statuses(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return doc["paths"][path][method]["responses"]  # type: ignore[no-any-return]


def test_defaults_and_route_additions_are_problems() -> None:
    doc = _app().openapi()
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    get = _statuses(doc, "/v1/things/{thing_id}", "get")
    assert set(get) == {"200", "401", "403", "404", "422", "503"}
    post = _statuses(doc, "/v1/things", "post")
    assert set(post) == {"201", "401", "403", "409", "413", "422", "428", "503"}
    assert set(_statuses(doc, "/v1/plain", "get")) == {"200", "401", "403", "429", "503"}
    assert "Retry-After" in _statuses(doc, "/v1/plain", "get")["429"]["headers"]
    for responses in (get, post):
        for code, response in responses.items():
            if code >= "400":
                assert response["content"] == problem, (code, response)
    assert "Problem" in doc["components"]["schemas"] and "HTTPValidationError" not in doc["components"]["schemas"]
    assert "Retry-After" in get["503"]["headers"]
    ops = doc["paths"]
    assert set(ops["/readyz"]["get"]["responses"]) == {"200", "503"}
    assert set(ops["/healthz"]["get"]["responses"]) == {"200"}
    assert list(ops["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]


async def test_an_unparsable_body_is_a_422_naming_the_body() -> None:
    app = _app()
    token = mint("operator")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        r = await client.post("/v1/things", content=b"\xff\x00garbage",
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "body", "reason": "not readable as the declared content type"}]

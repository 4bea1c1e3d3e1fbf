"""fast_json_route: a valid JSON body reaches the endpoint directly; everything else is FastAPI's own answer."""

from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from onestop.common.errors import Forbidden, install_problem_handlers
from onestop.common.fast_route import fast_json_route


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    n: int = Field(ge=0)


calls: list[str] = []


def who(request: Request) -> str:
    return request.headers.get("x-who", "nobody")


def _extra(request: Request) -> dict[str, Any]:
    calls.append("fast")
    return {"caller": who(request)}


router = APIRouter(route_class=fast_json_route("body", Body, _extra))


@router.post("/echo")
async def echo(body: Body, caller: str = Depends(who)) -> dict[str, Any]:
    if body.name == "forbidden":
        raise Forbidden("not for you")
    return {"name": body.name, "n": body.n, "caller": caller}


def _client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    return TestClient(app)


def test_a_valid_body_takes_the_fast_path_with_the_same_answer() -> None:
    client = _client()
    calls.clear()
    r = client.post("/echo", json={"name": "a", "n": 2}, headers={"x-who": "h1"})
    assert r.status_code == 200 and r.json() == {"name": "a", "n": 2, "caller": "h1"}
    assert calls == ["fast"]


def test_an_invalid_body_is_fastapis_problem_naming_the_field() -> None:
    client = _client()
    calls.clear()
    r = client.post("/echo", json={"name": "a", "n": -1})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["n"]
    r = client.post("/echo", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert calls == []  # neither reached the endpoint


def test_another_content_type_goes_fastapis_way() -> None:
    client = _client()
    calls.clear()
    body = '{"name": "a", "n": 1}'
    utf16 = {"content-type": "application/json; charset=utf-16"}
    r = client.post("/echo", content=body.encode("utf-16"), headers=utf16)
    assert r.status_code == 200 and r.json()["caller"] == "nobody"
    r = client.post("/echo", content=body.encode(), headers={"content-type": "text/plain"})
    assert r.status_code == 422
    assert calls == []
    r = client.post("/echo", content=body.encode(), headers={"content-type": "application/json; charset=UTF-8"})
    assert r.status_code == 200 and calls == ["fast"]


def test_a_domain_error_in_the_fast_path_is_still_a_problem() -> None:
    r = _client().post("/echo", json={"name": "forbidden", "n": 0})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")

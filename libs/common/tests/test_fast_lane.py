"""The fast lane: a hot JSON endpoint answered before the middleware stack, with the app's own answers
for everything it hands on (401, 422, other content types) and the same problems and metrics."""

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from onestop.common.auth import BearerAuthMiddleware, CurrentPrincipal, Principal
from onestop.common.errors import Forbidden, install_problem_handlers
from onestop.common.fast_lane import FastLaneMiddleware, utf8_json
from onestop.common.metrics import HTTP_REQUESTS
from onestop.common.service_app import MetricsMiddleware
from onestop.common.testing import mint, session_keys
from onestop.common.tokens import TokenVerifier

_KEYS = session_keys()
ISSUER = TokenVerifier("lane-test", _KEYS.issuer_public_keys(), _KEYS.service_public_keys())
SERVICE = "lane-test"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1)
    n: int = Field(ge=0)


calls: list[str] = []


def _reply(body: Body, principal: Principal) -> dict[str, Any]:
    if body.name == "forbidden":
        raise Forbidden("not for you")
    if body.name == "boom":
        raise RuntimeError("a bug")
    return {"name": body.name, "n": body.n, "caller": principal.subject}


async def fast_echo(runtime: Any, principal: Principal, raw: bytes) -> bytes:
    calls.append(f"fast:{runtime}")
    return to_json(_reply(Body.model_validate_json(raw), principal))


def _client() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/v1/echo")
    async def echo(body: Body, principal: CurrentPrincipal) -> dict[str, Any]:
        calls.append("route")
        return _reply(body, principal)

    app.add_middleware(BearerAuthMiddleware, issuer=ISSUER)
    app.add_middleware(MetricsMiddleware, service=SERVICE)
    app.add_middleware(FastLaneMiddleware, routes={("POST", "/v1/echo"): fast_echo}, issuer=ISSUER, service=SERVICE)
    app.state.runtime = "rt"
    calls.clear()
    return TestClient(app, raise_server_exceptions=False)


def _auth(subject: str = "hospital:H1") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint('hospital', subject=subject, hospital_code='H1')}"}


def _count(status: int) -> float:
    return HTTP_REQUESTS.labels(SERVICE, "POST", "/v1/echo", str(status))._value.get()


def test_a_valid_request_is_answered_by_the_lane() -> None:
    client = _client()
    before = _count(200)
    r = client.post("/v1/echo", json={"name": "a", "n": 2}, headers=_auth())
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.json() == {"name": "a", "n": 2, "caller": "hospital:H1"}
    assert calls == ["fast:rt"]  # the route never ran
    assert _count(200) == before + 1  # counted under the route's path


def test_an_invalid_body_is_fastapis_problem_naming_the_field() -> None:
    client = _client()
    r = client.post("/v1/echo", json={"name": "a", "n": -1}, headers=_auth())
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in r.json()["errors"]] == ["n"]
    r = client.post("/v1/echo", content=b"{not json", headers={**_auth(), "content-type": "application/json"})
    assert r.status_code == 422
    assert calls == ["fast:rt", "fast:rt"]  # handed on after the model refused it; the route never ran


def test_no_or_a_bad_token_is_the_apps_401() -> None:
    client = _client()
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = client.post("/v1/echo", json={"name": "a", "n": 1}, headers=headers)
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert calls == []


def test_another_content_type_goes_to_the_route() -> None:
    client = _client()
    body = '{"name": "a", "n": 1}'
    r = client.post("/v1/echo", content=body.encode("utf-16"),
                    headers={**_auth(), "content-type": "application/json; charset=utf-16"})
    assert r.status_code == 200 and calls == ["route"]
    r = client.post("/v1/echo", content=body.encode(), headers={**_auth(), "content-type": "text/plain"})
    assert r.status_code == 422
    calls.clear()
    utf8 = {**_auth(), "content-type": "application/json; charset=UTF-8"}
    r = client.post("/v1/echo", content=body.encode(), headers=utf8)
    assert r.status_code == 200 and calls == ["fast:rt"]


def test_a_domain_error_is_the_same_problem_and_a_bug_is_a_500_problem() -> None:
    client = _client()
    before = _count(403)
    r = client.post("/v1/echo", json={"name": "forbidden", "n": 0}, headers=_auth())
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["instance"] == "/v1/echo" and _count(403) == before + 1
    r = client.post("/v1/echo", json={"name": "boom", "n": 0}, headers=_auth())
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json")
    assert "a bug" not in r.text


@pytest.mark.parametrize(("value", "ok"), [
    (b"application/json", True), ("application/json; charset=utf-8", True), ('application/json;charset="UTF8"', True),
    ("application/json; charset=latin-1", False), ("text/json", False), (b"", False), (None, False)])
def test_utf8_json(value: Any, ok: bool) -> None:
    assert utf8_json(value) is ok

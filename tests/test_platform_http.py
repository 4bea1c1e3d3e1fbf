"""The public surface every service shares: health, readiness, metrics, auth, problems."""

from __future__ import annotations

import time

import jwt
import pytest

from onestop.common.testing import mint, running

SERVICES = ["identity", "ledger", "rules", "clearing"]


@pytest.mark.parametrize("service", ["ledger", "clearing"])
async def test_health_ready_metrics_docs(service: str, settings_for) -> None:  # type: ignore[no-untyped-def]
    import importlib

    app = importlib.import_module(f"onestop.{service}.app").create_app(settings_for(service))
    async with running(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["nats"] == "ok"
        metrics = await client.get("/metrics")
        assert "onestop_http_requests_total" in metrics.text
        assert (await client.get("/openapi.json")).status_code == 200
        assert (await client.get("/docs")).status_code == 200


async def test_anonymous_and_bad_tokens_are_401_problems(settings_for) -> None:  # type: ignore[no-untyped-def]
    from onestop.ledger.app import create_app

    settings = settings_for("ledger")
    app = create_app(settings)
    async with running(app) as client:
        r = await client.post("/v1/anything", content=b"{not json")
        assert r.status_code == 401
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/unauthorized")
        bad = jwt.encode({"sub": "x", "role": "operator", "iss": "onestop", "exp": time.time() + 60},
                         "another-key-that-is-long-enough-0123456789", headers={"kid": "dev"})
        r = await client.get("/v1/anything", headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401 and "unknown" in r.json()["detail"]
        r = await client.get("/v1/anything", headers={"Authorization": "Bearer not.a.jwt"})
        assert r.status_code == 401 and "malformed" in r.json()["detail"]
        ok = mint("operator")
        r = await client.get("/v1/anything", headers={"Authorization": f"Bearer {ok}"})
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")

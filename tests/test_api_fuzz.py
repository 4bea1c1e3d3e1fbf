"""Property-based API tests (schemathesis): whatever a client sends that fits — or nearly fits — the
OpenAPI document, the answer is never a 5xx, and every error is problem+json."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from onestop.cli.embedded import free_port
from onestop.common.testing import key_env, mint, settings_keys
from onestop.rules.app import create_app as rules_app
from onestop.rules.settings import Settings as RulesSettings

ONESTOP = str(Path(sys.executable).parent / "onestop")

rules_schema = schemathesis.openapi.from_dict(rules_app(RulesSettings(**settings_keys("rules"))).openapi())


@pytest.fixture(scope="module")
def rules_server(pg_server: str, nats_url: str, make_database) -> Iterator[tuple[str, str]]:  # type: ignore[no-untyped-def]
    port = free_port()
    env = {**os.environ, "DATABASE_URL": pg_server, "NATS_URL": nats_url,
           "ONESTOP_DATABASE_NAME": make_database("rules"), "ONESTOP_LOG_LEVEL": "WARNING", **key_env("rules")}
    proc = subprocess.Popen([ONESTOP, "serve", "rules", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError(proc.stderr.read().decode() if proc.stderr else "rules did not start")
    token = mint("operator", subject="operator:fuzz")
    yield url, token
    proc.terminate()
    proc.wait(10)


@rules_schema.parametrize()
@settings(max_examples=int(os.environ.get("ONESTOP_FUZZ_EXAMPLES", "15")), deadline=None,
          suppress_health_check=list(HealthCheck))
def test_rules_never_5xx(case, rules_server) -> None:  # type: ignore[no-untyped-def]
    url, token = rules_server
    headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    response = case.call(base_url=url, headers=headers, timeout=30)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:500]}"
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or response.headers.get("Content-Type")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), response.text[:300]

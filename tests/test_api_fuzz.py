"""Property-based API tests (schemathesis) of every service's OpenAPI (identity, ledger, rules, clearing).

Whatever a client sends that fits — or nearly fits — a service's OpenAPI document, the answer is never a
5xx, every error is problem+json, and its status and content type are ones the document declares for that
operation (schemathesis' status-code, content-type and response-schema conformance checks). Each service
runs as `onestop serve` would run it, on its own database; the number of examples per operation is
bounded (ONESTOP_FUZZ_EXAMPLES) so the whole file takes a minute or two in CI.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from onestop.cli.embedded import free_port
from onestop.common.testing import key_env, mint, settings_keys

ONESTOP = str(Path(sys.executable).parent / "onestop")
EXAMPLES = int(os.environ.get("ONESTOP_FUZZ_EXAMPLES", "15"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# Callers the fuzzer plays: an operator reaches every operation's handler; a hospital meets the scope checks.
ROLES: dict[str, dict[str, str]] = {"operator": {}, "hospital": {"hospital_code": "H150222001"}}



def _document(service: str) -> dict[str, Any]:
    """The service's OpenAPI document as its app serves it (built without starting it)."""
    settings = importlib.import_module(f"onestop.{service}.settings").Settings(**settings_keys(service))
    return importlib.import_module(f"onestop.{service}.app").create_app(settings).openapi()  # type: ignore[no-any-return]


DOCUMENTS = {s: _document(s) for s in ("identity", "ledger", "rules", "clearing")}
identity_schema, ledger_schema, rules_schema, clearing_schema = (
    schemathesis.openapi.from_dict(DOCUMENTS[s]) for s in ("identity", "ledger", "rules", "clearing"))


@pytest.mark.parametrize("service", DOCUMENTS)
def test_every_list_pages_with_a_cursor(service: str) -> None:
    """A GET answering a list (a page, or a bare array) takes `limit` and `cursor` (common/pagination.py)."""
    doc = DOCUMENTS[service]
    lists = []
    for path, item in doc["paths"].items():
        get = item.get("get")
        if not get or not path.startswith("/v1"):
            continue
        schema = get["responses"]["200"].get("content", {}).get("application/json", {}).get("schema", {})
        ref = schema.get("$ref", "").rsplit("/", 1)[-1]
        properties = doc["components"]["schemas"].get(ref, {}).get("properties", {}) if ref else {}
        if schema.get("type") == "array" or {"items", "next_cursor"} <= set(properties):
            lists.append(path)
            params = {p["name"] for p in get.get("parameters", [])}
            assert {"limit", "cursor"} <= params, f"{service} GET {path} lists without a cursor"
    assert lists or service in ("ledger", "clearing"), f"{service}: no list found; is the detection broken?"


def _start(service: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([ONESTOP, "serve", service, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return proc, f"http://127.0.0.1:{port}"


def _wait_ready(service: str, proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{service} did not start: " + (proc.stderr.read().decode() if proc.stderr else ""))


@pytest.fixture(scope="module")
def servers(pg_server: str, nats_url: str, make_database) -> Iterator[dict[str, str]]:  # type: ignore[no-untyped-def]
    """The four services as subprocesses, identity asking this rules; service name -> base URL."""
    base = {**os.environ, "DATABASE_URL": pg_server, "NATS_URL": nats_url, "ONESTOP_LOG_LEVEL": "WARNING"}
    started: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        started["rules"] = _start("rules", {**base, "ONESTOP_DATABASE_NAME": make_database("rules"),
                                            **key_env("rules")})
        for service in ("identity", "ledger", "clearing"):
            started[service] = _start(service, {**base, "ONESTOP_DATABASE_NAME": make_database(service),
                                                "ONESTOP_RULES_URL": started["rules"][1],
                                                # the ledger asks this identity (started just before it)
                                                **({"ONESTOP_IDENTITY_URL": started["identity"][1]}
                                                   if "identity" in started else {}),
                                                # clearing's reconciliation asks this ledger
                                                **({"ONESTOP_LEDGER_URL": started["ledger"][1]}
                                                   if "ledger" in started else {}),
                                                **key_env(service)})
        for service, (proc, url) in started.items():
            _wait_ready(service, proc, url)
        yield {service: url for service, (_, url) in started.items()}
    finally:
        for proc, _ in started.values():
            proc.terminate()
        for proc, _ in started.values():
            proc.wait(10)


def _fuzz(service: str, case: Any, servers: dict[str, str], role: str) -> None:
    # a client token of the test session's issuer, which every service started with key_env() verifies
    headers = {**(case.headers or {}), "Authorization": f"Bearer {mint(role, subject=f'{role}:fuzz', **ROLES[role])}"}
    response = case.call(base_url=servers[service], headers=headers, timeout=30)
    case.validate_response(response, checks=CHECKS, headers=headers)
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or response.headers.get("Content-Type")
        content_type = content_type[0] if isinstance(content_type, list) else content_type
        assert content_type.startswith("application/problem+json"), response.text[:300]


FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.parametrize("role", ROLES)
@identity_schema.parametrize()
@FUZZ
def test_identity_fuzz(case, servers, role) -> None:  # type: ignore[no-untyped-def]
    _fuzz("identity", case, servers, role)


@pytest.mark.parametrize("role", ROLES)
@ledger_schema.parametrize()
@FUZZ
def test_ledger_fuzz(case, servers, role) -> None:  # type: ignore[no-untyped-def]
    _fuzz("ledger", case, servers, role)


@pytest.mark.parametrize("role", ROLES)
@rules_schema.parametrize()
@FUZZ
def test_rules_fuzz(case, servers, role) -> None:  # type: ignore[no-untyped-def]
    _fuzz("rules", case, servers, role)


@pytest.mark.parametrize("role", ROLES)
@clearing_schema.parametrize()
@FUZZ
def test_clearing_fuzz(case, servers, role) -> None:  # type: ignore[no-untyped-def]
    _fuzz("clearing", case, servers, role)

"""Test helpers shared by every service's tests: run an app's lifespan and call it over HTTP; the test
session's own keys (generated once per process, never in the repository) and tokens signed with them."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from onestop.common.keys import KeySet
from onestop.common.tokens import ClientTokenIssuer


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app's lifespan (DB, NATS, relay, consumers) and yield an HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


@functools.cache
def session_keys() -> KeySet:
    """This test session's keys (the root conftest's `test_keys` fixture)."""
    return KeySet.generate()


@functools.cache
def session_issuer() -> ClientTokenIssuer:
    """Signs client tokens with the session's issuer key, as `onestop token` would."""
    return ClientTokenIssuer(session_keys().issuer_key)


def mint(role: str = "operator", **claims: Any) -> str:
    """A client token of the session's issuer (`ttl_s`, `issued_at`, `subject` and the scope as for mint)."""
    return session_issuer().mint(role, **claims)


def bearer(role: str = "operator", **claims: Any) -> dict[str, str]:
    """An Authorization header with a fresh client token."""
    return {"Authorization": f"Bearer {mint(role, **claims)}"}


def settings_keys(service: str) -> dict[str, Any]:
    """The key settings of a service, as keyword arguments of its Settings."""
    return {k.removeprefix("ONESTOP_").lower(): json.loads(v) if v[:1] in "[{" else v
            for k, v in session_keys().service_env(service).items()}


def key_env(service: str) -> dict[str, str]:
    """The key settings of a service as environment variables, for a service started in a subprocess."""
    return session_keys().service_env(service)


async def all_items(client: httpx.AsyncClient, url: str, *, headers: dict[str, str],
                    params: dict[str, Any] | None = None) -> list[Any]:
    """Every item of a paginated list (`{"items", "next_cursor"}`), following the cursors."""
    items: list[Any] = []
    cursor = None
    while True:
        r = await client.get(url, headers=headers, params={**(params or {}), **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    """Wait until `predicate()` is true, polling every 0.1 s; AssertionError after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("condition not reached in time")

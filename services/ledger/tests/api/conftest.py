"""Ledger API tests: a ledger app on a fresh database, calling a real identity and a real rules (in-process, over
ASGI with the ledger's own service token), all on the session's real PostgreSQL and nats-server."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

_HERE = os.path.dirname(__file__)
if _HERE not in sys.path:  # ledger_api_helpers.py, importable under --import-mode=importlib
    sys.path.insert(0, _HERE)


@pytest.fixture(scope="session")
async def ledger_rules(settings_for) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    from onestop.common.testing import running
    from onestop.rules.app import create_app

    app = create_app(settings_for("rules"))
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def ledger_identity(settings_for, ledger_rules) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    from onestop.common.testing import running
    from onestop.identity.app import create_app

    app = create_app(settings_for("identity"), rules_transport=httpx.ASGITransport(ledger_rules))
    async with running(app) as client:
        yield app, client


@pytest.fixture(scope="session")
async def ledger(settings_for, ledger_rules, ledger_identity) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    from onestop.common.testing import running
    from onestop.ledger.app import create_app

    app = create_app(settings_for("ledger"), identity_transport=httpx.ASGITransport(ledger_identity[0]),
                     rules_transport=httpx.ASGITransport(ledger_rules))
    async with running(app) as client:
        yield app, client

"""Identity API tests: an identity app on a fresh database, with the shipped policies in an in-process rules."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(scope="session")
async def rules_app(settings_for) -> AsyncIterator[Any]:  # type: ignore[no-untyped-def]
    from onestop.common.testing import running
    from onestop.rules.app import create_app

    app = create_app(settings_for("rules"))
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def identity(settings_for, rules_app) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    from onestop.common.testing import running
    from onestop.identity.app import create_app

    app = create_app(settings_for("identity", import_batch_rows=100), rules_transport=httpx.ASGITransport(rules_app))
    async with running(app) as client:
        yield app, client

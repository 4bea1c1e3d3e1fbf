"""Rules API tests: the rules app in-process on a fresh database and the session's nats-server."""

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


@pytest.fixture(scope="module")
async def rules(settings_for) -> AsyncIterator[tuple[Any, httpx.AsyncClient]]:  # type: ignore[no-untyped-def]
    """One rules app per test module (modules publish versions of their own)."""
    from onestop.common.testing import running
    from onestop.rules.app import create_app

    app = create_app(settings_for("rules"))
    async with running(app) as client:
        yield app, client

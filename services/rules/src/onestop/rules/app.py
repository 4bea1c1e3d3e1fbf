"""The rules service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI

from onestop.common.service_app import build_app
from onestop.rules.settings import Settings
from onestop.rules.store.tables import metadata


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS, provisions the stream, loads policies."""
    return build_app(
        settings or Settings(),
        title="onestop rules",
        description="Versioned regional policies, fee classification and the payer waterfall with a trace.",
        metadata=metadata,
        routers=[],
    )

"""The ledger service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI

from onestop.common.service_app import build_app
from onestop.ledger.settings import Settings
from onestop.ledger.store.tables import metadata


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS and provisions the stream."""
    return build_app(
        settings or Settings(),
        title="onestop ledger",
        description="Treat-first agreements, stays, fee lines, statements, notices, settlements, repayment.",
        metadata=metadata,
        routers=[],
    )

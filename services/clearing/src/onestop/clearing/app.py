"""The clearing service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI

from onestop.clearing.settings import Settings
from onestop.clearing.store.tables import metadata
from onestop.common.service_app import build_app


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS and provisions the stream."""
    return build_app(
        settings or Settings(),
        title="onestop clearing",
        description="Per-payer advance accounts, claim batches, decisions, disbursements, reconciliation.",
        metadata=metadata,
        routers=[],
    )

"""The rules service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

from fastapi import FastAPI

from onestop.common.service_app import Runtime, build_app
from onestop.rules.api import operations, policies, quotes, reference, simulations
from onestop.rules.events.refresh import follow_publications
from onestop.rules.events.rpc import serve_quotes
from onestop.rules.service import Policies, ensure_fresh
from onestop.rules.settings import Settings
from onestop.rules.store.tables import metadata


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; the lifespan loads the policies, opens the database and NATS, serves quotes."""
    settings = settings or Settings()

    async def start(runtime: Runtime) -> None:
        runtime.extras["policies"] = Policies.from_dir(settings.policy_dir)
        await ensure_fresh(runtime.extras["policies"], runtime.db)
        await serve_quotes(runtime)
        await follow_publications(runtime)

    return build_app(
        settings,
        title="onestop rules",
        description=(
            "Versioned regional policies (province → city → county), fee classification and the payer "
            "waterfall with a trace. Quotes over HTTP (`POST /v1/quotes`) and NATS request/reply "
            "(`onestop.rpc.rules.quote`, queue group `rules`)."
        ),
        metadata=metadata,
        routers=[quotes.router, policies.router, reference.router, operations.router, simulations.router],
        on_start=start,
    )

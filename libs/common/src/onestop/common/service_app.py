"""What every service's FastAPI app has: lifespan wiring, problems, auth, health, readiness, metrics.

`build_app` is called by each service's `create_app(settings)`; nothing connects at import time.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from nats.aio.client import Client
from nats.js import JetStreamContext
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import MetaData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onestop.common.auth import BearerAuthMiddleware
from onestop.common.consumer import consumer_states
from onestop.common.db import Database
from onestop.common.errors import Unavailable, install_problem_handlers, problem_response
from onestop.common.fast_lane import FastHandler, FastLaneMiddleware
from onestop.common.housekeeping import housekeeping
from onestop.common.idempotency import Idempotency
from onestop.common.logging import configure_logging
from onestop.common.metrics import RequestMetrics
from onestop.common.nats import connect, ensure_stream
from onestop.common.openapi import document_problems, problem_responses
from onestop.common.outbox import Outbox, OutboxRelay
from onestop.common.revocation import RevocationList
from onestop.common.settings import ServiceSettings
from onestop.common.tokens import ServiceTokenMinter, TokenVerifier

log = structlog.get_logger("onestop.app")


@dataclass
class Runtime:
    """Everything a running service holds; built in lifespan, reachable as `app.state.runtime`."""

    settings: ServiceSettings
    metadata: MetaData
    db: Database
    nc: Client
    js: JetStreamContext
    outbox: Outbox
    relay: OutboxRelay
    idempotency: Idempotency
    tokens: TokenVerifier
    service_tokens: ServiceTokenMinter  # this service's own tokens for calls to another service
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    extras: dict[str, Any] = field(default_factory=dict)

    def spawn(self, coro: Awaitable[Any], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        task.add_done_callback(_log_task_end)
        self.tasks.append(task)


def _log_task_end(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background_task_died", task=task.get_name(), error_type=type(task.exception()).__name__)


StartHook = Callable[[Runtime], Awaitable[None]]


def build_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    metadata: MetaData,
    routers: Sequence[APIRouter],
    on_start: StartHook | None = None,
    on_stop: StartHook | None = None,
    version: str = "0.1.0",
    fast_routes: Mapping[tuple[str, str], FastHandler] | None = None,
    relay_hold_lock: str | None = None,
) -> FastAPI:
    """Assemble a service app. `on_start` adds consumers and caches once NATS and the DB are up;
    `fast_routes` are hot JSON endpoints answered by the fast lane (fast_lane.py) as well as by a route;
    the outbox relay pauses while a bulk writer holds the advisory lock named `relay_hold_lock`."""
    revocations = RevocationList()
    tokens = settings.token_verifier(revocations)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level, settings.service)
        db = Database(settings.service_database_url())
        try:
            await db.check_reachable()
            nc = await connect(settings.nats_url, name=f"onestop-{settings.service}")
        except Unavailable:
            await db.dispose()
            raise
        js = nc.jetstream()
        await ensure_stream(js, settings.service, replicas=settings.stream_replicas,
                            max_age_s=settings.stream_max_age_days * 86400.0)
        outbox = Outbox(metadata, source=f"/onestop/{settings.service}")
        relay = OutboxRelay(db, outbox, js, interval=settings.relay_interval_s, service=settings.service,
                            hold_lock=relay_hold_lock, hold_max_s=settings.relay_hold_max_s)
        runtime = Runtime(settings, metadata, db, nc, js, outbox, relay,
                          Idempotency(db, metadata, settings.idempotency_ttl_days, settings.idempotency_claim_ttl_s),
                          tokens, settings.service_tokens())
        app.state.runtime = runtime
        runtime.spawn(revocations.follow(nc, settings.stream_replicas), "revocation-watch")
        await _revocations_loaded(revocations, runtime)
        runtime.spawn(relay.run(), "outbox-relay")
        runtime.spawn(housekeeping(runtime), "housekeeping")
        if on_start:
            await on_start(runtime)
        # Start-up objects (policies, models, routes) never die: keep them out of every GC pass, and
        # collect the young generation less often — request garbage is short-lived (quote p99).
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        log.info("service_started", service=settings.service)
        try:
            yield
        finally:
            if on_stop:
                await on_stop(runtime)
            for task in runtime.tasks:
                task.cancel()
            await asyncio.gather(*runtime.tasks, return_exceptions=True)
            try:
                await asyncio.wait_for(nc.close(), timeout=2)
            except Exception:
                pass
            await db.dispose()

    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(BearerAuthMiddleware, issuer=tokens)
    app.add_middleware(MetricsMiddleware, service=settings.service)
    if fast_routes:  # added last, so outermost: inside only Starlette's ServerErrorMiddleware
        app.add_middleware(FastLaneMiddleware, routes=fast_routes, issuer=tokens, service=settings.service)
    app.state.tokens = tokens
    app.include_router(_ops_router())
    for router in routers:
        app.include_router(router)
    document_problems(app)
    return app


async def _revocations_loaded(revocations: RevocationList, runtime: Runtime, timeout_s: float = 15.0) -> None:
    """Serve no request before the revocation list is known: a revoked token must never slip in at start."""
    try:
        await asyncio.wait_for(revocations.loaded.wait(), timeout_s)
    except TimeoutError:
        for task in runtime.tasks:
            task.cancel()
        await asyncio.gather(*runtime.tasks, return_exceptions=True)
        await runtime.nc.close()
        await runtime.db.dispose()
        raise Unavailable(f"the token revocation list (JetStream bucket) did not load within {timeout_s:.0f} s") \
            from None


def _ops_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Database and NATS reachable, every consumer alive (each with state and lag)",
                responses=problem_responses(503))
    async def readyz(request: Request) -> Response:
        runtime: Runtime = request.app.state.runtime
        db_ok = await runtime.db.ping()
        nats_ok = runtime.nc.is_connected
        consumers_ok, consumers = await consumer_states(runtime.extras)
        if db_ok and nats_ok and consumers_ok:
            return JSONResponse({"status": "ready", "database": "ok", "nats": "ok", "consumers": consumers})
        p = Unavailable("not ready", database="ok" if db_ok else "unreachable", nats="ok" if nats_ok else "unreachable",
                        consumers=consumers)
        return problem_response(p, "/readyz")

    @router.get("/metrics", summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class MetricsMiddleware:
    """Counts requests and latency per route template (never per raw path: ids stay out)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.metrics = RequestMetrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            self.metrics.observe(scope["method"], getattr(scope.get("route"), "path", "unmatched"), status["code"],
                                 time.perf_counter() - start)


async def runtime_of(request: Request) -> Runtime:
    """FastAPI dependency: the running service's runtime (async: no thread-pool hop per request)."""
    return request.app.state.runtime  # type: ignore[no-any-return]

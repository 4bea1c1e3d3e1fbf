"""The identity service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from onestop.common import parked_api
from onestop.common.consumer import StreamConsumer, start_consumers
from onestop.common.inbox import Inbox
from onestop.common.ratelimit import RateLimiter
from onestop.common.service_app import Runtime, build_app
from onestop.contracts.events.base import stream_name
from onestop.identity.api import credit, eligibility, imports, persons
from onestop.identity.api.service_grants import ServiceGrants
from onestop.identity.events import policy, repayment
from onestop.identity.rules_client import RuleBook, RulesClient
from onestop.identity.settings import Settings
from onestop.identity.store.reads import ReadPool
from onestop.identity.store.registers import IMPORT_LOCK
from onestop.identity.store.tables import metadata


def create_app(settings: Settings | None = None, rules_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS, provisions the stream, starts consumers.

    `rules_transport` lets tests serve rules in-process (e.g. `httpx.ASGITransport(rules_app)`).
    """
    settings = settings or Settings()
    cipher = settings.pii_cipher()

    async def start(runtime: Runtime) -> None:
        client = RulesClient(settings.rules_url, runtime.service_tokens.auth("rules"), rules_transport)
        book = RuleBook(runtime.db, client, settings.rules_cache_s)
        reads = await ReadPool.open(settings.service_database_url(), size=settings.read_pool_size,
                                    synchronous_commit=settings.audit_synchronous_commit)
        runtime.extras.update(pii=cipher, rules_client=client, rulebook=book, reads=reads,
                              rate_limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst))
        inbox = Inbox(metadata, "identity")
        limits = {"park_after": settings.consumer_park_after, "retry_max_s": settings.consumer_retry_max_s}
        start_consumers(runtime, [
            StreamConsumer(runtime.db, inbox, runtime.js, stream=stream_name("rules"), durable="identity-policy",
                           filter_subject="onestop.rules.policy.published.>",
                           handlers={"rules.policy.published.v1": policy.make_handler(runtime)}, **limits),
            StreamConsumer(runtime.db, inbox, runtime.js, stream=stream_name("ledger"), durable=repayment.DURABLE,
                           filter_subject=repayment.FILTER,
                           handlers={"ledger.repayment.overdue.v1": repayment.make_handler(runtime)}, **limits),
            StreamConsumer(runtime.db, inbox, runtime.js, stream=stream_name("ledger"),
                           durable=repayment.VISIT_DURABLE, filter_subject=repayment.VISIT_FILTER,
                           handlers={"ledger.repayment.visit_recorded.v1": repayment.make_visit_handler(runtime)},
                           **limits),
        ])

        # The durable consumer is shared by replicas; every replica's cache must hear of a publication. It listens
        # for identity's own policy.applied, which the relay publishes only once the replica that applied the
        # publication has committed it: on rules' policy.published itself, a replica could drop its cache, read
        # the old rule again before that commit and keep it for rules_cache_s.
        async def _drop_cache(_msg: object) -> None:
            book.invalidate()

        runtime.extras["policy_sub"] = await runtime.nc.subscribe("onestop.identity.policy.applied.>",
                                                                  cb=_drop_cache)

    async def stop(runtime: Runtime) -> None:
        await runtime.extras["rules_client"].close()
        await runtime.extras["reads"].close()

    app = build_app(
        settings,
        title="onestop identity",
        description="Persons, register statuses over time, the blacklist, and the treat-first eligibility decision.",
        metadata=metadata,
        routers=[imports.router, eligibility.router, persons.router, credit.router, parked_api.router],
        fast_routes=eligibility.FAST_ROUTES,
        relay_hold_lock=IMPORT_LOCK,
        on_start=start,
        on_stop=stop,
    )
    app.add_middleware(imports.UploadLimit)  # before auth reads anything
    app.add_middleware(ServiceGrants)  # outermost of the app's own: the fast lane answers eligibility inside it
    return app

"""The ledger service app: create_app(settings) builds it; nothing connects at import time."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from onestop.common import parked_api
from onestop.common.consumer import StreamConsumer, start_consumers
from onestop.common.inbox import Inbox
from onestop.common.service_app import Runtime, build_app
from onestop.contracts.events.base import stream_name
from onestop.ledger.api import (
    agreements,
    audit,
    documents,
    fees,
    payments,
    plans,
    repayment,
    settlements,
    statements,
    stays,
)
from onestop.ledger.clients import IdentityClient, RulesClient
from onestop.ledger.domain.sealing import Sealer
from onestop.ledger.events import cost_alerts, credit
from onestop.ledger.quotes import QuoteClient
from onestop.ledger.receivables.checks import Scheduler
from onestop.ledger.settings import Settings
from onestop.ledger.statements.alerts import CostAlerts, Thresholds
from onestop.ledger.store.tables import metadata


def create_app(settings: Settings | None = None, *, identity_transport: httpx.AsyncBaseTransport | None = None,
               rules_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS and provisions the stream.

    The transports let tests serve identity and rules in-process (`httpx.ASGITransport(app)`).
    """
    settings = settings or Settings()

    async def start(runtime: Runtime) -> None:
        timeout = settings.dependency_timeout_s
        runtime.extras.update(
            identity=IdentityClient(settings.identity_url, runtime.service_tokens.auth("identity"), timeout,
                                    identity_transport),
            rules=RulesClient(settings.rules_url, runtime.service_tokens.auth("rules"), timeout, rules_transport),
            sealer=Sealer(settings.service_key),
            quotes=QuoteClient(runtime.nc, timeout_s=settings.quote_timeout_s, attempts=settings.quote_attempts))
        alerts = CostAlerts(runtime, runtime.extras["quotes"], Thresholds(runtime.extras["rules"]))
        limits = {"park_after": settings.consumer_park_after, "retry_max_s": settings.consumer_retry_max_s}
        if settings.repayment_check_hour is not None:
            scheduler = Scheduler(runtime, hour=settings.repayment_check_hour)
            runtime.extras["repayment_scheduler"] = scheduler
            runtime.spawn(scheduler.loop(), "repayment-check")
        start_consumers(runtime, [
            StreamConsumer(runtime.db, Inbox(metadata, "ledger"), runtime.js, stream=stream_name("ledger"),
                           durable=cost_alerts.DURABLE, filter_subject=cost_alerts.FILTER,
                           handlers={cost_alerts.TYPE: cost_alerts.make_handler(alerts)}, **limits),
            StreamConsumer(runtime.db, Inbox(metadata, credit.DURABLE), runtime.js, stream=stream_name("identity"),
                           durable=credit.DURABLE, filter_subject=credit.FILTER,
                           handlers={credit.TYPE: credit.make_handler(runtime)}, **limits),
        ])

    async def stop(runtime: Runtime) -> None:
        await runtime.extras["identity"].close()
        await runtime.extras["rules"].close()

    return build_app(
        settings,
        title="onestop ledger",
        description="Treat-first agreements, stays, fee lines, statements, notices, settlements, repayment.",
        metadata=metadata,
        routers=[agreements.router, stays.router, fees.router, settlements.router, statements.router,
                 payments.router, plans.router, repayment.router, audit.router, documents.router,
                 parked_api.router],  # its consumers park what they cannot apply: operators see and retry it
        on_start=start,
        on_stop=stop,
    )

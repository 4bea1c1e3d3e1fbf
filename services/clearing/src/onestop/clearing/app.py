"""The clearing service app: create_app(settings) builds it; nothing connects at import time.

Every clearing process serves the HTTP API and is a posting worker of one group: the dedicated group of the
payers in `ONESTOP_PAYER`, or the catch-all when it is unset (postings/groups.py).
"""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from onestop.clearing.api import advances, claims, invariants
from onestop.clearing.budgets import api as budgets_api
from onestop.clearing.budgets import service as budgets
from onestop.clearing.clients import LedgerClient, RulesClient
from onestop.clearing.finance import api as finance_api
from onestop.clearing.postings.groups import Group
from onestop.clearing.postings.worker import PostingWorker
from onestop.clearing.reconciliation import api as reconciliation_api
from onestop.clearing.reconciliation.service import LEDGER
from onestop.clearing.settings import Settings
from onestop.clearing.store.tables import metadata
from onestop.common import parked_api
from onestop.common.consumer import start_consumers
from onestop.common.service_app import Runtime, build_app

WORKER = "posting_worker"  # Runtime.extras key


def create_app(settings: Settings | None = None, *,
               ledger_transport: httpx.AsyncBaseTransport | None = None,
               rules_transport: httpx.AsyncBaseTransport | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database and NATS, registers the worker's group and starts it.

    The transports let tests serve the ledger and rules in-process (`httpx.ASGITransport(app)`)."""
    settings = settings or Settings()

    async def start(runtime: Runtime) -> None:
        group = Group(settings.payers())
        await group.register(runtime.db)  # before consuming: a payer in two groups refuses the start
        worker = PostingWorker(runtime.db, runtime.js, group, batch=settings.posting_batch,
                               park_after=settings.consumer_park_after, retry_max_s=settings.consumer_retry_max_s)
        runtime.extras[WORKER] = worker
        runtime.extras[LEDGER] = LedgerClient(settings.ledger_url, runtime.service_tokens.auth("ledger"),
                                              settings.dependency_timeout_s, ledger_transport)
        runtime.extras[budgets.RULES] = RulesClient(settings.rules_url, runtime.service_tokens.auth("rules"),
                                                    settings.dependency_timeout_s, rules_transport)
        if settings.budget_check_interval_s is not None:
            runtime.spawn(budgets.loop(runtime, settings.budget_check_interval_s), "budget-check")
        start_consumers(runtime, [worker])

    async def stop(runtime: Runtime) -> None:
        for client in (LEDGER, budgets.RULES):
            if client in runtime.extras:
                await runtime.extras[client].close()

    return build_app(
        settings,
        title="onestop clearing",
        description="Per-fund advance accounts (double-entry), claims, decisions, disbursements, reconciliation.",
        metadata=metadata,
        routers=[advances.router, invariants.router, parked_api.router, claims.router, reconciliation_api.router,
                 budgets_api.router, finance_api.router],
        on_start=start,
        on_stop=stop,
    )

"""Retention of the platform tables, hourly in every replica (each delete is idempotent, so replicas may overlap).

Published outbox rows after `outbox_retention_hours`, processed inbox ids after `inbox_retention_days` (longer
than any redelivery: the streams' dedupe window is 2 minutes, and a consumer keeps an event it retries in
progress), idempotency keys after `idempotency_ttl_days` (at least 7). Parked rows are kept: an operator acts on
them. The parked gauges (events, outbox rows) are refreshed on the way, so every replica reports what the
tables hold.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog

from onestop.common.inbox import purge_inbox
from onestop.common.outbox import count_parked, purge_published
from onestop.common.parked import refresh_gauge

log = structlog.get_logger("onestop.housekeeping")


async def sweep(runtime: Any) -> dict[str, int]:
    """One pass; returns what each purge removed."""
    s, db, md = runtime.settings, runtime.db, runtime.metadata
    done: dict[str, int] = {}
    jobs = {
        "outbox": lambda: purge_published(db, md, s.outbox_retention_hours),
        "inbox": lambda: purge_inbox(db, md, s.inbox_retention_days),
        "idempotency_key": runtime.idempotency.expire,
    }
    for name, job in jobs.items():
        try:
            done[name] = await job()
        except Exception as exc:  # the database away: the next pass catches up
            log.warning("housekeeping_failed", table=name, error_type=type(exc).__name__)
    try:
        await refresh_gauge(db, md)
        await count_parked(db, md, s.service)
    except Exception as exc:
        log.warning("housekeeping_failed", table="parked_event", error_type=type(exc).__name__)
    return done


async def housekeeping(runtime: Any, interval_s: float = 3600.0) -> None:
    """For ever: a sweep, then an hour's sleep."""
    while True:
        await sweep(runtime)
        await asyncio.sleep(interval_s)

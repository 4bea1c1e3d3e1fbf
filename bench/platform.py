"""The platform's backbone: how fast the outbox relay drains committed events to JetStream.

N events are committed through `Outbox.add` (in transactions of 500, as many use cases would) into a
fresh database migrated like the rules service's; then `OutboxRelay.publish_pending` runs until the
outbox is empty. The figure is events/s, beside the anchor `jetstream_publish_acked_per_s` (the relay
awaits each publish's ack, so that anchor is its ceiling).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from bench.core import Context, Row

EVENTS = 5000
COMMIT_BATCH = 500


def _database(ctx: Context) -> str:
    from onestop.common.migrations import ensure_database
    from onestop.common.settings import ConnectionSettings
    from onestop.rules.store.migrate import upgrade

    name = f"bench_outbox_{uuid.uuid4().hex[:8]}"
    ensure_database(ctx.database_url, name)
    url = ConnectionSettings(service="rules", DATABASE_URL=ctx.database_url, database_name=name).service_database_url()
    upgrade(url)
    return url


async def _relay(url: str, nats_url: str, n: int) -> tuple[float, float]:
    import nats
    from sqlalchemy import func, select

    from onestop.common.clock import now
    from onestop.common.db import Database
    from onestop.common.nats import ensure_stream
    from onestop.common.outbox import Outbox, OutboxRelay
    from onestop.contracts.events.rules import PolicyPublished
    from onestop.rules.store.tables import metadata

    db = Database(url)
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "rules")
        outbox = Outbox(metadata, source="/onestop/bench")
        at = now()
        t = time.perf_counter()
        for start in range(0, n, COMMIT_BATCH):
            async with db.transaction() as session:
                for i in range(start, min(n, start + COMMIT_BATCH)):
                    await outbox.add(session, PolicyPublished(
                        policy_id="999999", version=i + 1, region_code="999999", valid_from=date(2026, 1, 1),
                        published_at=at, published_by="operator:bench", parts=["payers.basic"]))
        commit_rate = n / (time.perf_counter() - t)
        relay = OutboxRelay(db, outbox, js, service="bench")
        t = time.perf_counter()
        drained = 0
        while (k := await relay.publish_pending()) > 0:
            drained += k
        drain_rate = drained / (time.perf_counter() - t)
        async with db.transaction() as session:
            left = (await session.execute(select(func.count()).select_from(outbox.table)
                                          .where(outbox.table.c.published_at.is_(None)))).scalar_one()
        if drained != n or left:
            raise RuntimeError(f"relay drained {drained} of {n}; {left} left")
        return commit_rate, drain_rate
    finally:
        await nc.close()
        await db.dispose()


def run(ctx: Context) -> None:
    with ThreadPoolExecutor(1) as pool:  # Alembic runs its own event loop
        url = pool.submit(_database, ctx).result()
    commit_rate, drain_rate = asyncio.run(_relay(url, ctx.nats_url, EVENTS))
    ctx.add(Row("platform", "outbox_commit_events_per_s", commit_rate, "events/s",
                note=f"{EVENTS} policy.published events through Outbox.add, {COMMIT_BATCH} per transaction"))
    ctx.add(Row("platform", "outbox_relay_events_per_s", drain_rate, "events/s",
                anchor="jetstream_publish_acked_per_s",
                note="OutboxRelay.publish_pending until empty (batches of 200, each publish acked, then marked)"))

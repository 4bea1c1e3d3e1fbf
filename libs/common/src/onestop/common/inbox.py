"""Inbox: a consumer's effects and the processed event id commit in one transaction.

Together with the outbox this gives effectively-exactly-once: a redelivered or re-published event
finds its id already in the inbox and changes nothing; it is acked all the same. The loop that feeds
it from JetStream is `consumer.StreamConsumer`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.clock import now
from onestop.common.db import Database, delete_in_batches
from onestop.common.metrics import EVENTS_APPLIED
from onestop.contracts.events.base import Envelope

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]
# Runs first in the inbox's transaction; True when the event must not be applied now (it waits behind a
# parked event of its aggregate and has been recorded as waiting).
Guard = Callable[[AsyncSession, Envelope], Awaitable[bool]]


class Inbox:
    def __init__(self, metadata: MetaData, consumer: str) -> None:
        self.table = metadata.tables["inbox"]
        self.consumer = consumer

    async def claim(self, session: AsyncSession, envelope: Envelope) -> bool:
        """True if this event was not processed before (and now is, when the transaction commits)."""
        result = await session.execute(
            insert(self.table)
            .values(consumer=self.consumer, event_id=envelope.id, type=envelope.type)
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        return result.first() is not None

    async def claim_many(self, session: AsyncSession, envelopes: list[Envelope]) -> set[str]:
        """`claim` for a batch in one statement: the ids not processed before (now claimed)."""
        unique = list({e.id: e for e in envelopes}.values())
        if not unique:
            return set()
        result = await session.execute(
            insert(self.table)
            .values([{"consumer": self.consumer, "event_id": e.id, "type": e.type} for e in unique])
            .on_conflict_do_nothing()
            .returning(self.table.c.event_id)
        )
        return {r.event_id for r in result}

    async def apply(self, db: Database, envelope: Envelope, handler: Handler, guard: Guard | None = None) -> bool:
        """Run `handler` once per event id; returns whether it ran."""
        async with db.transaction() as session:
            if guard is not None and await guard(session, envelope):
                return False
            if not await self.claim(session, envelope):
                return False
            await handler(session, envelope)
        EVENTS_APPLIED.labels(self.consumer, envelope.type).inc()
        return True


async def purge_inbox(db: Database, metadata: MetaData, days: int) -> int:
    """Forget processed event ids older than the retention (longer than any redelivery can come)."""
    t = metadata.tables["inbox"]
    return await delete_in_batches(db, t, t.c.processed_at < now() - timedelta(days=days))

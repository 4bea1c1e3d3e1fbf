"""Transactional outbox: the state change and its event commit together; a relay publishes after.

The event id is the `Nats-Msg-Id`, so a relay that publishes twice (crash between publish and mark,
two replicas) is deduplicated by JetStream inside its window and by consumers' inboxes after it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime

import structlog
from nats.js import JetStreamContext
from sqlalchemy import MetaData, Table, Text, cast, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.clock import now
from onestop.common.db import OUTBOX_WRITTEN, Database
from onestop.common.metrics import OUTBOX_PUBLISHED
from onestop.contracts.events.base import Envelope, EventPayload

log = structlog.get_logger("onestop.outbox")


class Outbox:
    """Adds events to the outbox table inside the caller's unit of work."""

    def __init__(self, metadata: MetaData, source: str) -> None:
        self.table: Table = metadata.tables["outbox"]
        self.source = source

    async def add(self, session: AsyncSession, payload: EventPayload, *, at: datetime | None = None) -> Envelope:
        envelope = Envelope.wrap(payload, source=self.source, time=at or now())
        session.info[OUTBOX_WRITTEN] = True
        await session.execute(
            self.table.insert().values(
                event_id=envelope.id,
                subject=payload.nats_subject(),
                type=envelope.type,
                envelope=envelope.model_dump(mode="json"),
            )
        )
        return envelope


class OutboxRelay:
    """Publishes unpublished outbox rows in order and marks them; survives NATS outages."""

    def __init__(self, db: Database, outbox: Outbox, js: JetStreamContext, *, interval: float = 0.2,
                 batch: int = 200, service: str = "", hold_lock: str | None = None,
                 hold_max_s: float = 600.0) -> None:
        self.db, self.table, self.js = db, outbox.table, js
        self.interval, self.batch, self.service = interval, batch, service
        self.hold_lock, self.hold_max_s = hold_lock, hold_max_s
        self._held_since: float | None = None  # when this relay first found the lock held
        self._hold_expired = False
        self._wake = asyncio.Event()
        db.on_commit(self._wake.set)

    def wake(self) -> None:
        self._wake.set()

    async def _held(self, session: AsyncSession) -> bool:
        """True while a bulk writer holds the advisory lock `hashtext(hold_lock)` (a register import of a million
        rows): the relay of every replica would take the same two CPUs from it (measured: an import 1.7x slower
        with the importing process's relay running, ~25% slower with a second worker's). The events are not
        lost or reordered, only published after it, at the relay's full rate. The relay's shared transaction
        lock does not conflict with other relays', only with the writer's; a hold is obeyed for at most
        `hold_max_s`."""
        if self.hold_lock is None:
            return False
        free = (await session.execute(text("SELECT pg_try_advisory_xact_lock_shared(hashtext(:k))"),
                                      {"k": self.hold_lock})).scalar_one()
        if free:
            self._held_since, self._hold_expired = None, False
            return False
        clock = time.monotonic()
        if self._held_since is None:
            self._held_since = clock
        if clock - self._held_since < self.hold_max_s:
            return True
        if not self._hold_expired:  # once a hold, not on every pass while the writer goes on
            self._hold_expired = True
            log.warning("outbox_hold_expired", service=self.service, held_s=self.hold_max_s)
        return False

    async def publish_pending(self) -> int:
        """One pass: publish up to `batch` rows. Raises if NATS is unavailable (nothing is marked)."""
        t = self.table
        async with self.db.transaction() as session:
            if await self._held(session):
                return 0
            rows = (
                await session.execute(
                    # The stored JSON as text, published as it is (decoding and re-encoding it cost the relay
                    # a third of its time); jsonb's text form is plain JSON, keys in jsonb's order as before.
                    select(t.c.id, t.c.event_id, t.c.subject, cast(t.c.envelope, Text).label("envelope"))
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self.batch)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # Pipelined: one connection sends them in order; the acks are awaited together. If any
            # fails, nothing is marked and the batch goes again (JetStream drops the duplicates).
            await asyncio.gather(*(
                self.js.publish(
                    r.subject,
                    r.envelope.encode(),
                    headers={"Nats-Msg-Id": r.event_id},
                    timeout=10.0,
                )
                for r in rows
            ))
            await session.execute(
                update(t).where(t.c.id.in_([r.id for r in rows])).values(published_at=now())
            )
        OUTBOX_PUBLISHED.labels(self.service).inc(len(rows))
        return len(rows)

    async def run(self) -> None:
        """Forever: publish, then sleep until nudged by a commit or the interval passes."""
        backoff = self.interval
        while True:
            try:
                n = await self.publish_pending()
                backoff = self.interval
                if n:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # NATS down, DB restarting: keep the rows, try again
                log.warning("outbox_publish_failed", error_type=type(exc).__name__, retry_in_s=backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            self._wake.clear()
            try:
                # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
                async with asyncio.timeout(self.interval * 5):
                    await self._wake.wait()
            except TimeoutError:
                pass

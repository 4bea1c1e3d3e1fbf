"""Transactional outbox: the state change and its event commit together; a relay publishes after.

The event id is the `Nats-Msg-Id`, so a relay that publishes twice (crash between publish and mark,
two replicas) is deduplicated by JetStream inside its window and by consumers' inboxes after it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import structlog
from nats.errors import MaxPayloadError
from nats.js import JetStreamContext
from nats.js.errors import APIError
from sqlalchemy import MetaData, Table, Text, cast, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.clock import now
from onestop.common.db import OUTBOX_WRITTEN, Database, delete_in_batches
from onestop.common.metrics import OUTBOX_PARKED, OUTBOX_PARKED_NOW, OUTBOX_PUBLISHED
from onestop.contracts.events.base import Envelope, EventPayload

log = structlog.get_logger("onestop.outbox")

RELAY_LOCK = "onestop.outbox.relay"  # advisory lock (per database): the one relay that publishes now


def never_publishable(exc: BaseException) -> str | None:
    """The reason a row can never be published (larger than the server or stream accepts), else None."""
    if isinstance(exc, MaxPayloadError):
        return "larger than the NATS server's max_payload"
    if isinstance(exc, APIError) and exc.err_code in (10054,):  # JetStream: message size exceeds maximum allowed
        return f"refused by JetStream: {exc.description}"
    return None


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
                aggregate=envelope.subject or envelope.id,
            )
        )
        return envelope

    async def add_many(self, session: AsyncSession, payloads: Sequence[EventPayload], *,
                       at: datetime | None = None) -> None:
        """Many events in one statement (a batch job's: the repayment check's reminders and overdue notices)."""
        if not payloads:
            return
        session.info[OUTBOX_WRITTEN] = True
        rows = []
        for payload in payloads:
            envelope = Envelope.wrap(payload, source=self.source, time=at or now())
            rows.append({"event_id": envelope.id, "subject": payload.nats_subject(), "type": envelope.type,
                         "envelope": envelope.model_dump(mode="json"), "aggregate": envelope.subject or envelope.id})
        await session.execute(self.table.insert(), rows)


async def count_parked(db: Database, metadata: MetaData, service: str) -> int:
    """Set `onestop_outbox_parked_rows` from the table: the rows an operator has to look at (`park_reason`)."""
    t = metadata.tables["outbox"]
    async with db.transaction() as session:
        n = int((await session.execute(select(func.count()).select_from(t).where(
            t.c.parked_at.is_not(None), t.c.published_at.is_(None)))).scalar_one())
    OUTBOX_PARKED_NOW.labels(service).set(n)
    return n


async def purge_published(db: Database, metadata: MetaData, hours: float) -> int:
    """Delete outbox rows published longer ago than the retention (JetStream and the inboxes have them)."""
    t = metadata.tables["outbox"]
    return await delete_in_batches(db, t, t.c.published_at < now() - timedelta(hours=hours))


class OutboxRelay:
    """Publishes unpublished outbox rows, each aggregate's in commit order, and marks them; survives NATS
    outages; one relay of all the replicas publishes at a time (advisory lock RELAY_LOCK)."""

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
        """One pass: publish up to `batch` rows, each aggregate's in commit order. Rows published before a failure
        are marked; a row that can never be published is parked; then the failure is raised (backoff)."""
        t = self.table
        async with self.db.transaction() as session:
            if await self._held(session):
                return 0
            # One publishing relay per database: two replicas publishing different rows at once could put one
            # aggregate's events on the stream out of commit order. The others find it taken and wait a pass.
            if not (await session.execute(text("SELECT pg_try_advisory_xact_lock(hashtext(:k))"),
                                          {"k": RELAY_LOCK})).scalar_one():
                return 0
            parked = t.alias("parked")
            blocked = (select(parked.c.id)
                       .where(parked.c.parked_at.is_not(None), parked.c.published_at.is_(None),
                              parked.c.aggregate == t.c.aggregate).exists())
            rows = (
                await session.execute(
                    # The stored JSON as text, published as it is (decoding and re-encoding it cost the relay
                    # a third of its time); jsonb's text form is plain JSON, keys in jsonb's order as before.
                    select(t.c.id, t.c.event_id, t.c.subject, t.c.aggregate,
                           cast(t.c.envelope, Text).label("envelope"))
                    .where(t.c.published_at.is_(None), t.c.parked_at.is_(None), ~blocked)
                    .order_by(t.c.id)
                    .limit(self.batch)
                )
            ).all()
            if not rows:
                return 0
            published, parked_rows, failure = await self._publish(rows)
            if published:
                await session.execute(update(t).where(t.c.id.in_(published)).values(published_at=now()))
            for row_id, reason in parked_rows:
                await session.execute(update(t).where(t.c.id == row_id)
                                      .values(parked_at=now(), park_reason=reason, attempts=t.c.attempts + 1))
        OUTBOX_PUBLISHED.labels(self.service).inc(len(published))
        if parked_rows:
            OUTBOX_PARKED.labels(self.service).inc(len(parked_rows))
            OUTBOX_PARKED_NOW.labels(self.service).inc(len(parked_rows))
            log.error("outbox_rows_parked", service=self.service, rows=[i for i, _ in parked_rows],
                      reason=parked_rows[0][1])
        if failure is not None:
            raise failure
        return len(published) + len(parked_rows)

    async def _publish(self, rows: Sequence[Any]) -> tuple[list[int], list[tuple[int, str]], Exception | None]:
        """Pipelined across aggregates, sequential within one: wave k sends the k-th row of every aggregate and
        awaits the acks together. An aggregate whose row fails sends nothing more this pass, so no later row of
        it can reach the stream before the failed one; other aggregates go on."""
        queues: dict[str, deque[Any]] = {}
        for r in rows:
            queues.setdefault(r.aggregate or r.event_id, deque()).append(r)
        published: list[int] = []
        parked: list[tuple[int, str]] = []
        failure: Exception | None = None
        while queues:
            wave = [(key, q[0]) for key, q in queues.items()]
            results = await asyncio.gather(*(self._send(r) for _, r in wave), return_exceptions=True)
            for (key, r), result in zip(wave, results, strict=True):
                if result is None:
                    published.append(r.id)
                    queues[key].popleft()
                    if queues[key]:
                        continue
                elif isinstance(result, asyncio.CancelledError):
                    raise result
                elif (reason := never_publishable(result)) is not None:
                    parked.append((r.id, reason))  # its later rows stay back: the query skips its aggregate
                elif isinstance(result, Exception):
                    failure = failure or result
                else:
                    raise result
                del queues[key]
        return published, parked, failure

    async def _send(self, r: Any) -> None:
        await self.js.publish(r.subject, r.envelope.encode(), headers={"Nats-Msg-Id": r.event_id}, timeout=10.0)

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

"""Inbox: a consumer's effects and the processed event id commit in one transaction.

Together with the outbox this gives effectively-exactly-once: a redelivered or re-published event
finds its id already in the inbox and changes nothing; it is acked all the same.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import structlog
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import MetaData
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.db import Database
from onestop.common.metrics import EVENTS_APPLIED
from onestop.common.nats import cancelling, wait_for_stream
from onestop.contracts.events.base import Envelope

log = structlog.get_logger("onestop.inbox")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


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

    async def apply(self, db: Database, envelope: Envelope, handler: Handler) -> bool:
        """Run `handler` once per event id; returns whether it ran."""
        async with db.transaction() as session:
            if not await self.claim(session, envelope):
                return False
            await handler(session, envelope)
        EVENTS_APPLIED.labels(self.consumer, envelope.type).inc()
        return True


class StreamConsumer:
    """A durable pull consumer on another service's stream, shared by replicas (queue semantics)."""

    def __init__(self, db: Database, inbox: Inbox, js: JetStreamContext, *, stream: str, durable: str,
                 filter_subject: str, handlers: dict[str, Handler], batch: int = 50) -> None:
        self.db, self.inbox, self.js = db, inbox, js
        self.stream, self.durable, self.filter_subject = stream, durable, filter_subject
        self.handlers, self.batch = handlers, batch

    async def run(self) -> None:
        await wait_for_stream(self.js, self.stream)
        sub = await self.js.pull_subscribe(
            self.filter_subject,
            durable=self.durable,
            stream=self.stream,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                deliver_policy=DeliverPolicy.ALL,
                max_deliver=50,
                ack_wait=30,
                filter_subject=self.filter_subject,
            ),
        )
        while True:
            try:
                msgs = await sub.fetch(self.batch, timeout=1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # timeout when idle, or NATS away: both just loop
                if cancelling():
                    raise asyncio.CancelledError from None
                if type(exc).__name__ not in ("TimeoutError", "FetchTimeoutError"):
                    log.debug("fetch_failed", error_type=type(exc).__name__)
                    await asyncio.sleep(0.5)
                continue
            for msg in msgs:
                await self._handle(msg)

    async def _handle(self, msg) -> None:  # type: ignore[no-untyped-def]
        try:
            envelope = Envelope.model_validate(json.loads(msg.data))
        except Exception:
            log.error("event_unreadable", subject=msg.subject)
            await msg.term()
            return
        handler = self.handlers.get(envelope.type)
        if handler is None:  # an event type this consumer does not act on: remember nothing, ack
            await msg.ack()
            return
        try:
            await self.inbox.apply(self.db, envelope, handler)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("event_apply_failed", type=envelope.type, event_id=envelope.id,
                        error_type=type(exc).__name__)
            await msg.nak(delay=1.0)
            return
        await msg.ack()

"""Parked events: what a consumer could not apply, kept in its own service's database with the reason.

An event that can never be applied (a handled type's payload that does not validate, an unknown version,
a handler's domain error) is parked; later events of the same aggregate (the envelope's `subject`, the
entity it is about) are recorded as `waiting` behind it instead of being applied out of order, while other
aggregates go on. An operator's retry applies the parked one, then those waiting, in order, once each,
through the inbox. Both sides take an advisory lock on (consumer, aggregate), so an event arriving during
a retry either is applied after the retry's last one or waits and is picked up by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, Row, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.clock import now
from onestop.common.db import Database
from onestop.common.errors import Unavailable
from onestop.common.failures import is_transient
from onestop.common.inbox import Handler, Inbox
from onestop.common.metrics import EVENTS_APPLIED, EVENTS_PARKED, PARKED_OPEN
from onestop.contracts.events.base import Envelope

OPEN = ("parked", "waiting")


def aggregate_of(envelope: Envelope) -> str:
    """The entity whose events keep their order; an event about no entity is its own aggregate."""
    return envelope.subject or envelope.id


def describe(exc: BaseException) -> str:
    """A reason an operator can act on, without echoing payload values (they may be personal data)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):  # pydantic: the fields and what is wrong with them, not the input
        try:
            parts = [f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors()]
            return f"{type(exc).__name__}: " + "; ".join(parts)[:900]
        except Exception:
            pass
    detail = getattr(exc, "detail", None)  # a domain Problem's sentence is ours
    return f"{type(exc).__name__}: {detail}"[:1000] if detail else type(exc).__name__


class ParkedEvents:
    """The parked and waiting events of one consumer (a durable), with the lock that keeps their order."""

    def __init__(self, metadata: MetaData, consumer: str) -> None:
        self.table = metadata.tables["parked_event"]
        self.consumer = consumer

    async def _lock(self, session: AsyncSession, aggregate: str) -> None:
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                              {"k": f"parked:{self.consumer}:{aggregate}"})

    async def _head(self, session: AsyncSession, aggregate: str, *, lock: bool = False) -> Row[Any] | None:
        t = self.table
        q = (select(t).where(t.c.consumer == self.consumer, t.c.aggregate == aggregate, t.c.state.in_(OPEN))
             .order_by(t.c.id).limit(1))
        return (await session.execute(q.with_for_update() if lock else q)).first()

    async def _insert(self, session: AsyncSession, envelope: Envelope, subject: str, *, state: str, reason: str,
                      attempts: int) -> None:
        await session.execute(
            insert(self.table).values(
                consumer=self.consumer, event_id=envelope.id, aggregate=aggregate_of(envelope), subject=subject,
                type=envelope.type, envelope=envelope.model_dump(mode="json"), state=state, reason=reason,
                attempts=attempts,
            ).on_conflict_do_nothing()
        )

    async def hold_back(self, session: AsyncSession, envelope: Envelope, subject: str) -> bool:
        """In the inbox's transaction: True (recorded as waiting) when an earlier event of its aggregate is
        parked or waiting — also when it is this very event, redelivered."""
        aggregate = aggregate_of(envelope)
        if await self._head(session, aggregate) is None:  # the usual case: one index probe, no lock
            return False
        await self._lock(session, aggregate)
        head = await self._head(session, aggregate)  # again under the lock: a retry may just have finished
        if head is None:
            return False
        await self._insert(session, envelope, subject, state="waiting",
                           reason=f"waits behind parked event {head.id} of the same aggregate", attempts=0)
        return True

    async def held_aggregates(self, session: AsyncSession, envelopes: list[Envelope]) -> set[str]:
        """Of these events' aggregates, those with a parked or waiting event (one probe for a whole batch; the
        usual answer is none, and only those events need `hold_back`)."""
        t = self.table
        aggregates = sorted({aggregate_of(e) for e in envelopes})
        if not aggregates:
            return set()
        rows = await session.execute(select(t.c.aggregate).distinct().where(
            t.c.consumer == self.consumer, t.c.aggregate.in_(aggregates), t.c.state.in_(OPEN)))
        return {r.aggregate for r in rows}

    async def park(self, db: Database, envelope: Envelope, subject: str, reason: str, attempts: int) -> None:
        """Record an event that cannot be applied (or, if one of its aggregate is parked meanwhile, waiting)."""
        aggregate = aggregate_of(envelope)
        async with db.transaction() as session:
            await self._lock(session, aggregate)
            state = "parked" if await self._head(session, aggregate) is None else "waiting"
            await self._insert(session, envelope, subject, state=state, reason=reason, attempts=attempts)
        EVENTS_PARKED.labels(self.consumer, envelope.type).inc()
        await refresh_gauge(db, self.table.metadata)

    async def retry(self, db: Database, inbox: Inbox, handler_for: Callable[[str], Handler],
                    parked_id: int) -> RetryOutcome:
        """Apply the parked event, then those waiting behind it in order, each once through the inbox; stop at
        the first that fails again (it becomes the parked one, with its new reason)."""
        t = self.table
        async with db.transaction() as session:
            row = (await session.execute(select(t).where(t.c.id == parked_id))).first()
        if row is None or row.consumer != self.consumer:
            raise LookupError(parked_id)
        outcome = RetryOutcome(parked_id, row.state)
        if row.state != "parked":
            return outcome
        while True:
            try:
                async with db.transaction() as session:
                    await self._lock(session, row.aggregate)
                    head = await self._head(session, row.aggregate, lock=True)
                    if head is None or (not outcome.applied and head.id != parked_id):
                        break  # all applied, or another retry got here first
                    failure = await self._apply_one(session, inbox, handler_for, head)
                    if failure is None:
                        await session.execute(update(t).where(t.c.id == head.id)
                                              .values(state="applied", resolved_at=now()))
                        outcome.applied.append(head.id)
                    else:
                        await session.execute(update(t).where(t.c.id == head.id).values(
                            state="parked", reason=failure, attempts=t.c.attempts + 1))
                        outcome.parked_id, outcome.reason = head.id, failure
            except Exception as exc:
                if is_transient(exc):
                    raise Unavailable("the database is unavailable; retry the parked event later") from exc
                raise
            if outcome.parked_id is not None:
                break
        outcome.state = "applied" if outcome.applied else "parked"
        await refresh_gauge(db, t.metadata)
        return outcome

    async def _apply_one(self, session: AsyncSession, inbox: Inbox, handler_for: Callable[[str], Handler],
                         row: Row[Any]) -> str | None:
        """Apply one stored event in a savepoint; the reason it failed, or None."""
        try:
            async with session.begin_nested():
                envelope = Envelope.model_validate(row.envelope)
                handler = handler_for(envelope.type)
                if await inbox.claim(session, envelope):
                    await handler(session, envelope)
                    EVENTS_APPLIED.labels(inbox.consumer, envelope.type).inc()
        except Exception as exc:
            if is_transient(exc):
                raise
            return describe(exc)
        return None


@dataclass
class RetryOutcome:
    id: int
    state: str
    applied: list[int] = field(default_factory=list)
    parked_id: int | None = None  # the event that failed again and is now the parked one
    reason: str | None = None


async def list_parked(db: Database, metadata: MetaData, *, states: tuple[str, ...], after_id: int | None,
                      limit: int) -> list[Row[Any]]:
    """Parked events of every consumer of this service, oldest first, after a cursor."""
    t = metadata.tables["parked_event"]
    q = select(t).where(t.c.state.in_(states)).order_by(t.c.id).limit(limit)
    if after_id is not None:
        q = q.where(t.c.id > after_id)
    async with db.transaction() as session:
        return list((await session.execute(q)).all())


async def refresh_gauge(db: Database, metadata: MetaData) -> None:
    """Set `onestop_parked_events` from the table (shared by every replica, so each reports the same)."""
    t = metadata.tables["parked_event"]
    async with db.transaction() as session:
        counts = (await session.execute(
            select(t.c.consumer, t.c.state, func.count()).where(t.c.state.in_(OPEN)).group_by(t.c.consumer, t.c.state)
        )).all()
    for child in list(PARKED_OPEN._metrics):  # noqa: SLF001 - reset series whose rows were retried away
        PARKED_OPEN.labels(*child).set(0)
    for consumer, state, n in counts:
        PARKED_OPEN.labels(consumer, state).set(n)

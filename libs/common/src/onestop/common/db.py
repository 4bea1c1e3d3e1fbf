"""PostgreSQL through SQLAlchemy 2 async + asyncpg; one transaction per unit of work.

The engine is built in a service's lifespan, never at import time. `platform_tables` adds the
outbox, inbox and idempotency tables to a service's own metadata (each service owns its database).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.sql.elements import ColumnElement

from onestop.common.errors import Unavailable

OUTBOX_WRITTEN = "onestop.outbox_written"  # session.info flag: this unit of work added outbox rows

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def platform_tables(metadata: MetaData) -> None:
    """Outbox, inbox, parked events and idempotency tables, the same in every service's database."""
    Table(
        "outbox", metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("subject", String(255), nullable=False),
        Column("type", String(128), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        # the entity the event is about (the envelope's `subject`, else its id): order is kept per aggregate
        Column("aggregate", String(255), nullable=True),
        # a row that can never be published (over NATS' max_payload) is parked; it holds back its aggregate
        Column("parked_at", DateTime(timezone=True), nullable=True),
        Column("park_reason", Text, nullable=True),
    )
    Table(
        "inbox", metadata,
        Column("consumer", String(64), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("type", String(128), nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    Table(
        "parked_event", metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("consumer", String(64), nullable=False),
        Column("event_id", String(64), nullable=False),
        Column("aggregate", String(255), nullable=False),
        Column("subject", String(255), nullable=False),
        Column("type", String(128), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("state", String(16), nullable=False),  # parked | waiting (behind a parked one) | applied
        Column("reason", Text, nullable=False),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("parked_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("resolved_at", DateTime(timezone=True), nullable=True),
        UniqueConstraint("consumer", "event_id", name="uq_parked_event_consumer_event_id"),
        Index("ix_parked_event_open", "consumer", "aggregate", "id",
              postgresql_where=text("state IN ('parked', 'waiting')")),
    )
    Table(
        "idempotency_key", metadata,
        Column("subject", String(255), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("status_code", Integer, nullable=False),
        Column("response", JSONB, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )


class Database:
    """An engine and a session factory; `transaction()` is the unit of work."""

    def __init__(self, url: str, *, pool_size: int = 10, echo: bool = False) -> None:
        self.url = url
        self.engine: AsyncEngine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo
        )
        self.sessionmaker = async_sessionmaker(self.engine, expire_on_commit=False)
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, hook: Callable[[], None]) -> None:
        """Run `hook` after a unit of work that wrote to the outbox commits (the relay's nudge)."""
        self._after_commit.append(hook)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One unit of work: commits on success, rolls back on any error; only this commits."""
        async with self.sessionmaker() as session:
            async with session.begin():
                yield session
            wrote_events = session.info.get(OUTBOX_WRITTEN, False)
        if wrote_events:  # reads and event-less writes need not wake the relay
            for hook in self._after_commit:
                hook()

    async def ping(self, timeout: float = 2.0) -> bool:  # noqa: ASYNC109 - a deadline, not a cancel scope
        try:
            async with asyncio.timeout(timeout):
                async with self.engine.connect() as conn:
                    await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def check_reachable(self) -> None:
        """Fail fast at start with a sentence an operator can act on."""
        if not await self.ping(timeout=10):
            raise Unavailable(
                "PostgreSQL is not reachable at DATABASE_URL (or the service's database is missing): "
                "start it with `make run` or `onestop up`, or fix DATABASE_URL, then run `onestop migrate`"
            )

    async def dispose(self) -> None:
        await self.engine.dispose()


async def delete_in_batches(db: Database, table: Table, where: ColumnElement[bool], batch: int = 10_000) -> int:
    """DELETE the rows matching `where`, `batch` rows per transaction: a purge of a million rows (a register
    import's outbox) never holds one long transaction and its locks; returns how many went."""
    ctid: ColumnElement[Any] = literal_column("ctid")
    total = 0
    while True:
        async with db.transaction() as session:
            res = await session.execute(delete(table).where(ctid.in_(select(ctid).select_from(table).where(where)
                                                                      .limit(batch))))
        n = res.rowcount or 0  # type: ignore[attr-defined]
        total += n
        if n < batch:
            return total

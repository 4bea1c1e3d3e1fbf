"""Eligibility's hot path: the person's current facts in one read, its access-audit row group-committed.

Measured on the 2-CPU bench machine, the SQLAlchemy unit of work cost an eligibility request ~7 round
trips and ~2 ms of Python before any decision: `pool_pre_ping` (BEGIN, `;`, ROLLBACK on every checkout),
BEGIN, the read, the audit INSERT, COMMIT — and the commit hook then woke the outbox relay, which ran a
second transaction of its own (pre-ping again) to find nothing to publish. Here the read is one
statement on a plain asyncpg pool: one round trip, no pre-ping, no reset query, no relay wake-up.

The access-audit row is not committed by each read: a read and its own audit INSERT and commit cost
PostgreSQL 130–190 µs of CPU, the read alone ~60 µs and an audit row in a batch of 20 ~20 µs (measured
on 300,000 persons). `AuditWriter` therefore commits the rows of every read in flight together (group
commit): each caller waits for the commit of the batch holding its row before it answers, so a read is
still never answered unaudited; a failed commit fails every read of its batch.

By default those commits do not wait for the WAL flush (`synchronous_commit = off` on this pool's
connections, which run only the read and the audit INSERT; setting `audit_synchronous_commit`). Measured
with a million persons at 1,500 reads/s on the bench machine: waiting for each batch's fsync took eligibility
from p50 1.6 / p99 6.5 ms to p50 4.0 / p99 83 ms, the tail being the disk's fsync stalls of 100–150 ms
(I/O pressure seen in /proc/pressure/io in the same 250 ms windows). The price: a crash of the database
server may lose the audit rows of its last ~0.6 s of reads; nothing else is written on this pool.
"""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from pydantic_core import from_json

from onestop.common.errors import Unavailable

# The person's current profile, statuses, enrolments and blacklist regions (shared with registers.py).
SNAPSHOT_SELECT = """
  SELECT p.person_id, p.id_cipher, pr.domicile_region, pr.household, pr.civil_servant, pr.disability,
    (SELECT coalesce(json_agg(json_build_array(s.category, s.valid_from, s.valid_to, s.subgroup, s.source)), '[]')
       FROM person_status s WHERE s.person_id = p.person_id AND s.superseded_at IS NULL) AS statuses,
    (SELECT coalesce(json_agg(json_build_array(e.scheme, e.region_code, e.valid_from, e.valid_to)), '[]')
       FROM insurance_enrolment e WHERE e.person_id = p.person_id AND e.superseded_at IS NULL) AS enrolments,
    (SELECT coalesce(json_agg(c.region_code), '[]') FROM credit_case c
       WHERE c.person_id = p.person_id AND c.state = 'blacklisted') AS blacklist
  FROM person p LEFT JOIN person_profile pr ON pr.person_id = p.person_id AND pr.superseded_at IS NULL
  WHERE p.id_index = $1"""

_READ = f"""
SELECT person_id::text AS person_id, id_cipher, domicile_region, household, civil_servant, disability,
       statuses, enrolments, blacklist
FROM ({SNAPSHOT_SELECT}) snap"""

# One audit row per read whether or not the person is known (person_id NULL for an unknown one).
_AUDIT_INSERT = """
INSERT INTO access_audit (subject, role, person_id, endpoint, detail)
SELECT s, r, p::uuid, e, d
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(s, r, p, e, d)"""

AuditRow = tuple[str, str, str | None, str, str | None]  # subject, role, person_id, endpoint, detail
_DOWN = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError)

_JSON_COLUMNS = ("statuses", "enrolments", "blacklist")


def snapshot_dict(row: asyncpg.Record) -> dict[str, Any]:
    """The row as a dict with its JSON aggregates decoded (a bare asyncpg connection returns them as text)."""
    out = dict(row)
    for k in _JSON_COLUMNS:
        if isinstance(out[k], str):
            out[k] = from_json(out[k])  # pydantic-core's parser: a few times the json module's speed
    return out


async def _no_reset(_conn: asyncpg.Connection) -> None:
    """The statements set nothing on the session; asyncpg still rolls back any open transaction itself."""


def _unavailable(exc: Exception) -> Exception:
    """A lost database as the 503 problem; any other failure as it is."""
    if not isinstance(exc, _DOWN):
        return exc
    err = Unavailable("the database is unavailable", dependency="database")
    err.__cause__ = exc
    return err


class AuditWriter:
    """Group commit of access-audit rows: `record` returns once the batch holding its row is committed.

    At most one batch is being committed at a time; rows arriving meanwhile form the next batch, so the
    batch size follows the load (one row when idle, dozens at a few thousand reads a second) and no
    caller waits longer than one commit for its batch to start."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._pending: list[tuple[AuditRow, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, row: AuditRow) -> None:
        """Add a row and wait for its commit (raises Unavailable if the batch could not be committed)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((row, future))
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all())
        await asyncio.shield(future)  # a caller that goes away leaves its row to be committed

    async def _flush_all(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending, []
                columns = [list(col) for col in zip(*(r for r, _ in batch), strict=True)]
                try:
                    async with self._pool.acquire() as conn:
                        await conn.execute(_AUDIT_INSERT, *columns)
                except Exception as exc:  # every caller of the batch learns it; the next batch tries again
                    for _, f in batch:
                        if not f.done():
                            f.set_exception(_unavailable(exc))
                else:
                    for _, f in batch:
                        if not f.done():
                            f.set_result(None)
        finally:
            self._flusher = None

    async def drain(self) -> None:
        """Wait until every recorded row is committed (or has failed): at shutdown."""
        while self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)


class ReadPool:
    """A small asyncpg pool for eligibility's audited read; `open` in the lifespan, `close` at stop."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.audit = AuditWriter(pool)

    @classmethod
    async def open(cls, sqlalchemy_url: str, *, size: int, synchronous_commit: str = "off") -> ReadPool:
        """`synchronous_commit` is PostgreSQL's setting for this pool's sessions, i.e. for the audit commits."""
        dsn = sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, reset=_no_reset,
                                         server_settings={"synchronous_commit": synchronous_commit})
        return cls(pool)

    async def snapshot_audited(self, id_index: str, *, subject: str, role: str, endpoint: str,
                               detail: str | None) -> dict[str, Any] | None:
        """The person's current facts (None if unknown), returned once the read's access-audit row is committed."""
        try:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_READ, id_index)
        except _DOWN as exc:
            raise _unavailable(exc) from exc
        await self.audit.record((subject, role, None if row is None else row["person_id"], endpoint, detail))
        return None if row is None else snapshot_dict(row)

    async def close(self) -> None:
        await self.audit.drain()
        await self._pool.close()

"""Eligibility's hot path: the person's current facts and the access-audit row in one statement.

Measured on the 2-CPU bench machine, the SQLAlchemy unit of work cost an eligibility request ~7 round
trips and ~2 ms of Python before any decision: `pool_pre_ping` (BEGIN, `;`, ROLLBACK on every checkout),
BEGIN, the read, the audit INSERT, COMMIT — and the commit hook then woke the outbox relay, which ran a
second transaction of its own (pre-ping again) to find nothing to publish. Here the read and its audit
row are one statement (a data-modifying CTE: atomic, so a read is never answered unaudited, and a failed
audit INSERT fails the read) on a plain asyncpg pool: one round trip, no pre-ping, no reset query, no
relay wake-up.

By default the statement's commit does not wait for the WAL flush (`synchronous_commit = off` on this
pool's connections, which run nothing else; setting `audit_synchronous_commit`). With a million persons
at 1,500 reads/s on the bench machine, waiting for the fsync took eligibility from p50 1.6 / p99 6.5 ms to
p50 4.0 / p99 83 ms: the tail was the disk's fsync stalls of 100–150 ms (I/O pressure in
/proc/pressure/io in the same 250 ms windows). The price: a crash of the database server may lose the
audit rows of its last ~0.6 s of reads.

Measured the same way, a group commit of the audit rows of reads in flight (a separate INSERT per batch,
this module's design before the commit wait was dropped) cost identity ~100 µs more CPU a read than this
one statement at 1,440 reads/s, and gave a higher p50 (1.8–2.8 ms against 1.3–1.6 ms; interleaved A/B,
five rounds): at a paced load the batches hold one or two rows, so it only adds a round trip.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from pydantic_core import from_json

from onestop.common.errors import Unavailable

# The person's current profile, statuses, enrolments and blacklistings: [region, from, until] (dates in Shanghai,
# until = the day it was lifted), so a decision for another date than today sees the blacklist of that date.
SNAPSHOT_SELECT = """
  SELECT p.person_id, p.id_cipher, pr.domicile_region, pr.household, pr.civil_servant, pr.disability,
    pr.disease_class, pr.labour,
    (SELECT coalesce(json_agg(json_build_array(s.category, s.valid_from, s.valid_to, s.subgroup, s.source)), '[]')
       FROM person_status s WHERE s.person_id = p.person_id AND s.superseded_at IS NULL) AS statuses,
    (SELECT coalesce(json_agg(json_build_array(e.scheme, e.region_code, e.valid_from, e.valid_to)), '[]')
       FROM insurance_enrolment e WHERE e.person_id = p.person_id AND e.superseded_at IS NULL) AS enrolments,
    (SELECT coalesce(json_agg(json_build_array(c.region_code, b.since, b.until)), '[]')
       FROM credit_case c CROSS JOIN LATERAL (
         SELECT (min(e.at) FILTER (WHERE e.state = 'blacklisted') AT TIME ZONE 'Asia/Shanghai')::date AS since,
                (min(e.at) FILTER (WHERE e.state = 'lifted') AT TIME ZONE 'Asia/Shanghai')::date AS until
         FROM credit_case_event e WHERE e.case_id = c.case_id) b
       WHERE c.person_id = p.person_id AND c.state IN ('blacklisted', 'lifted')) AS blacklist
  FROM person p LEFT JOIN person_profile pr ON pr.person_id = p.person_id AND pr.superseded_at IS NULL
  WHERE p.id_index = $1"""

# The read and its audit row (one whether or not the person is known: person_id NULL for an unknown one, whose
# number is recorded by its blind index $1, never in clear), naming the hospital asked about ($6).
_AUDITED = f"""
WITH snap AS ({SNAPSHOT_SELECT}),
     audit AS (INSERT INTO access_audit (subject, role, person_id, endpoint, detail, id_index, hospital_code)
               SELECT $2, $3, (SELECT person_id FROM snap), $4, $5, $1, $6)
SELECT person_id::text AS person_id, id_cipher, domicile_region, household, civil_servant, disability,
       disease_class, labour, statuses, enrolments, blacklist
FROM snap"""

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


class ReadPool:
    """A small asyncpg pool for eligibility's audited read; `open` in the lifespan, `close` at stop."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @classmethod
    async def open(cls, sqlalchemy_url: str, *, size: int, synchronous_commit: str = "off") -> ReadPool:
        """`synchronous_commit` is PostgreSQL's setting for this pool's sessions, i.e. for the audit commits."""
        dsn = sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=size, reset=_no_reset,
                                         server_settings={"synchronous_commit": synchronous_commit})
        return cls(pool)

    async def snapshot_audited(self, id_index: str, *, subject: str, role: str, endpoint: str,
                               detail: str | None, hospital_code: str | None = None) -> dict[str, Any] | None:
        """The person's current facts (None if unknown), with the access-audit row committed in the same statement."""
        try:
            async with self._pool.acquire() as conn:
                row = await conn.fetchrow(_AUDITED, id_index, subject, role, endpoint, detail, hospital_code)
        except _DOWN as exc:
            raise Unavailable("the database is unavailable", dependency="database") from exc
        return None if row is None else snapshot_dict(row)

    async def close(self) -> None:
        await self._pool.close()

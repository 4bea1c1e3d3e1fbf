"""Bulk reads and writes of an import batch: one round trip per table, COPY for new rows."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.db import Database
from onestop.identity.domain.changes import EnrolmentFact, KnownPerson, Profile, StatusFact

_PROFILE_COLS = ("person_id", "name_cipher", "name_hash", "guardian_cipher", "guardian_hash", "domicile_region",
                 "household", "civil_servant", "disability", "disease_class", "labour", "card_no", "source",
                 "import_id")
_STATUS_COLS = ("person_id", "category", "subgroup", "source", "region_code", "valid_from", "valid_to", "import_id")
_ENROLMENT_COLS = ("person_id", "scheme", "region_code", "source", "valid_from", "valid_to", "import_id")


async def raw_connection(session: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the session's transaction (COPY and array binds need it)."""
    conn = await session.connection()
    raw = await conn.get_raw_connection()
    return raw.driver_connection  # type: ignore[return-value]


# The advisory lock an import holds for its run (hashtext of this name); every replica's outbox relay
# pauses while it is held (build_app's relay_hold_lock).
IMPORT_LOCK = "onestop.identity.import"


@asynccontextmanager
async def import_lock(db: Database) -> AsyncIterator[None]:
    """One import writes at a time, from its first batch to its last: a batch's stored persons are read
    before the batch ahead of it commits, so no other import may change them in between. A session-level
    advisory lock on a connection held for the run (it dies with the connection if the process does)."""
    async with db.engine.connect() as held:
        raw = await held.get_raw_connection()
        conn: asyncpg.Connection = raw.driver_connection  # type: ignore[assignment]
        await conn.execute("SELECT pg_advisory_lock(hashtext($1))", IMPORT_LOCK)
        try:
            yield
        finally:
            await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", IMPORT_LOCK)


@dataclass
class BatchWrites:
    """What one import batch writes: new rows per table (COPY tuples), ids superseded, outbox rows."""

    persons: list[tuple[Any, ...]] = field(default_factory=list)
    profiles: list[tuple[Any, ...]] = field(default_factory=list)
    statuses: list[tuple[Any, ...]] = field(default_factory=list)
    enrolments: list[tuple[Any, ...]] = field(default_factory=list)
    superseded: dict[str, list[int]] = field(default_factory=lambda: {
        "person_profile": [], "person_status": [], "insurance_enrolment": []})
    events: list[tuple[str, str, str, str]] = field(default_factory=list)


async def load_known(conn: asyncpg.Connection, id_indexes: Sequence[str]) -> dict[str, KnownPerson]:
    """Persons of the batch already stored, with their current profile, statuses and enrolments."""
    rows = await conn.fetch(
        """SELECT p.person_id::text AS person_id, p.id_index, pr.id AS profile_id, pr.name_cipher, pr.name_hash,
                  pr.guardian_cipher, pr.guardian_hash, pr.domicile_region, pr.household, pr.civil_servant,
                  pr.disability, pr.disease_class, pr.labour, pr.card_no
           FROM person p LEFT JOIN person_profile pr ON pr.person_id = p.person_id AND pr.superseded_at IS NULL
           WHERE p.id_index = ANY($1::text[])""", list(id_indexes))
    if not rows:
        return {}
    by_id: dict[str, KnownPerson] = {}
    out: dict[str, KnownPerson] = {}
    for r in rows:
        profile = None
        if r["profile_id"] is not None:
            profile = Profile(values={k: r[k] for k in ("name_hash", "guardian_hash", "domicile_region", "household",
                                                         "civil_servant", "disability", "disease_class", "labour",
                                                         "card_no")},
                              secrets={"name_cipher": r["name_cipher"], "guardian_cipher": r["guardian_cipher"]},
                              id=r["profile_id"])
        known = KnownPerson(r["person_id"], profile, [], [])
        out[r["id_index"]] = by_id[r["person_id"]] = known
    ids = list(by_id)
    for s in await conn.fetch(
            """SELECT id, person_id::text AS person_id, category, subgroup, source, region_code, valid_from, valid_to
               FROM person_status WHERE person_id = ANY($1::uuid[]) AND superseded_at IS NULL""", ids):
        by_id[s["person_id"]].statuses.append(StatusFact(s["category"], s["subgroup"], s["source"], s["region_code"],
                                                         s["valid_from"], s["valid_to"], s["id"]))
    for e in await conn.fetch(
            """SELECT id, person_id::text AS person_id, scheme, region_code, source, valid_from, valid_to
               FROM insurance_enrolment WHERE person_id = ANY($1::uuid[]) AND superseded_at IS NULL""", ids):
        by_id[e["person_id"]].enrolments.append(EnrolmentFact(e["scheme"], e["region_code"], e["source"],
                                                              e["valid_from"], e["valid_to"], e["id"]))
    return out


async def supersede(conn: asyncpg.Connection, table: str, ids: list[int]) -> None:
    """Mark current rows as replaced (history is kept: the row stays)."""
    if ids:
        assert table in ("person_profile", "person_status", "insurance_enrolment")
        await conn.execute(f"UPDATE {table} SET superseded_at = now() WHERE id = ANY($1::bigint[])", ids)


async def copy_rows(conn: asyncpg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """COPY new rows in (binary protocol: the fastest way in)."""
    if rows:
        await conn.copy_records_to_table(table, records=rows, columns=list(columns))


async def write_batch(conn: asyncpg.Connection, w: BatchWrites) -> None:
    """Supersede first (the partial unique index allows one current profile), then COPY the new rows."""
    for table, ids in w.superseded.items():
        await supersede(conn, table, ids)
    await copy_rows(conn, "person", ("person_id", "id_index", "id_cipher", "birth_date", "sex"), w.persons)
    await copy_rows(conn, "person_profile", _PROFILE_COLS, w.profiles)
    await copy_rows(conn, "person_status", _STATUS_COLS, w.statuses)
    await copy_rows(conn, "insurance_enrolment", _ENROLMENT_COLS, w.enrolments)


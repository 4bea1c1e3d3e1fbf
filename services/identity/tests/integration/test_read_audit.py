"""The eligibility read's access audit on a real PostgreSQL: committed with the read, and never skipped."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from onestop.common.settings import ConnectionSettings
from onestop.identity.store.reads import ReadPool


def _dsn(pg_server: str, name: str) -> str:
    url = ConnectionSettings(service="identity", DATABASE_URL=pg_server, database_name=name).service_database_url()
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture
async def reads(pg_server: str, make_database: Any) -> Any:
    name = make_database("identity")
    pool = await ReadPool.open(_dsn(pg_server, name), size=4)
    conn = await asyncpg.connect(_dsn(pg_server, name))
    try:
        yield pool, conn
    finally:
        await conn.close()
        await pool.close()


async def _read(pool: ReadPool, marker: str) -> Any:
    return await pool.snapshot_audited(uuid.uuid4().hex, subject="hospital:H1", role="hospital",
                                       endpoint="POST /v1/eligibility", detail=marker)


async def test_every_read_returns_after_its_audit_row_is_committed(reads: Any) -> None:
    pool, conn = reads
    markers = [f"m{i}" for i in range(200)]
    answers = await asyncio.gather(*(_read(pool, m) for m in markers))
    assert answers == [None] * 200  # unknown persons: no facts, still audited
    rows = await conn.fetch("SELECT detail, person_id, endpoint FROM access_audit")
    assert sorted(r["detail"] for r in rows) == sorted(markers)  # committed before any answer returned
    assert all(r["person_id"] is None and r["endpoint"] == "POST /v1/eligibility" for r in rows)


async def test_a_read_whose_audit_cannot_be_committed_is_not_answered(reads: Any) -> None:
    pool, conn = reads
    await conn.execute("ALTER TABLE access_audit RENAME TO access_audit_away")
    try:
        results = await asyncio.gather(*(_read(pool, f"x{i}") for i in range(5)), return_exceptions=True)
        assert all(isinstance(r, asyncpg.UndefinedTableError) for r in results), results
    finally:
        await conn.execute("ALTER TABLE access_audit_away RENAME TO access_audit")
    assert await _read(pool, "after") is None  # audited (and answered) again
    assert await conn.fetchval("SELECT count(*) FROM access_audit") == 1


@pytest.mark.parametrize("setting", ["off", "on"])
async def test_the_audit_commits_use_the_configured_synchronous_commit(
        pg_server: str, make_database: Any, setting: str) -> None:
    # Only the audit INSERT commits on this pool, so the pool's session setting is the audit's durability.
    name = make_database("identity")
    pool = await ReadPool.open(_dsn(pg_server, name), size=2, synchronous_commit=setting)
    try:
        assert await _read(pool, "one") is None
        async with pool._pool.acquire() as conn:
            assert await conn.fetchval("SHOW synchronous_commit") == setting
            assert await conn.fetchval("SELECT count(*) FROM access_audit WHERE detail = 'one'") == 1
    finally:
        await pool.close()


def test_the_audit_setting_is_validated() -> None:
    from pydantic import ValidationError

    from onestop.common.testing import settings_keys
    from onestop.identity.settings import Settings

    keys = settings_keys("identity")
    assert Settings(**keys).audit_synchronous_commit == "off"
    with pytest.raises(ValidationError, match="audit_synchronous_commit"):
        Settings(**keys, audit_synchronous_commit="sometimes")

"""Repository of import runs and their row-level reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.identity.domain.registers import RowError
from onestop.identity.store.tables import import_rejection as rj
from onestop.identity.store.tables import import_run as t


async def create(session: AsyncSession, *, import_id: str, source: str, region_code: str | None,
                 started_by: str) -> None:
    await session.execute(t.insert().values(import_id=import_id, source=source, region_code=region_code,
                                            state="running", started_by=started_by))


async def add_progress(conn: asyncpg.Connection, import_id: str, *, accepted: int, rejected: int,
                       rejected_rows: int, changed: int) -> None:
    """Counts of one committed batch, so a running import shows its progress."""
    await conn.execute(
        """UPDATE import_run SET accepted = accepted + $2, rejected = rejected + $3,
                  rejected_rows = rejected_rows + $4, changed_persons = changed_persons + $5
           WHERE import_id = $1::uuid""", import_id, accepted, rejected, rejected_rows, changed)


async def add_rejections(conn: asyncpg.Connection, import_id: str, errors: list[RowError]) -> None:
    if errors:
        await conn.copy_records_to_table("import_rejection", columns=["import_id", "row", "field", "reason"],
                                         records=[(import_id, e.row, e.field, e.reason) for e in errors])


async def complete(session: AsyncSession, import_id: str, *, region_code: str, file_kind: str,
                   encoding: str | None, ignored: list[str], at: datetime) -> dict[str, Any]:
    row = (await session.execute(
        update(t).where(t.c.import_id == import_id)
        .values(state="completed", region_code=region_code, file_kind=file_kind, encoding=encoding,
                ignored_columns=ignored, completed_at=at)
        .returning(*t.c))).one()
    return dict(row._mapping)


async def fail(session: AsyncSession, import_id: str, *, reason: str, at: datetime) -> None:
    """A run that stopped: `failed`, with its reason and when (rows of committed batches stay)."""
    await session.execute(update(t).where(t.c.import_id == import_id, t.c.state == "running")
                          .values(state="failed", failure_reason=reason, completed_at=at))


async def get(session: AsyncSession, import_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(t).where(t.c.import_id == import_id))).first()
    return dict(row._mapping) if row else None


async def rejections(session: AsyncSession, import_id: str, limit: int | None = None) -> list[RowError]:
    q = select(rj.c.row, rj.c.field, rj.c.reason).where(rj.c.import_id == import_id).order_by(rj.c.id)
    if limit is not None:
        q = q.limit(limit)
    return [RowError(r.row, r.field, r.reason) for r in await session.execute(q)]


async def count_rejections(session: AsyncSession, import_id: str) -> int:
    q = select(func.count()).select_from(rj).where(rj.c.import_id == import_id)
    return int((await session.execute(q)).scalar_one())

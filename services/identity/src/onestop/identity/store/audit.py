"""Repository of the access audit: who read whose data, when, through which endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.identity.store.tables import access_audit as t


async def record(session: AsyncSession, principal: Principal, *, person_id: str | None, endpoint: str,
                 detail: str | None = None) -> None:
    """One audit row, in the caller's transaction (the read and its record commit together)."""
    await session.execute(t.insert().values(subject=principal.subject, role=principal.role.value,
                                            person_id=person_id, endpoint=endpoint, detail=detail))


async def query(session: AsyncSession, *, person_id: str | None, subject: str | None, since: datetime | None,
                limit: int) -> list[dict[str, Any]]:
    q = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
    if person_id:
        q = q.where(t.c.person_id == person_id)
    if subject:
        q = q.where(t.c.subject == subject)
    if since:
        q = q.where(t.c.at >= since)
    return [dict(r._mapping) for r in await session.execute(q)]

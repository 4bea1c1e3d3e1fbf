"""Repository of the access audit: who read whose data, when, through which endpoint."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.identity.store.tables import access_audit as t

ELIGIBILITY = "POST /v1/eligibility"  # the endpoint name eligibility's audit rows carry


async def record(session: AsyncSession, principal: Principal, *, person_id: str | None, endpoint: str,
                 detail: str | None = None) -> None:
    """One audit row, in the caller's transaction (the read and its record commit together)."""
    await session.execute(t.insert().values(subject=principal.subject, role=principal.role.value,
                                            person_id=person_id, endpoint=endpoint, detail=detail))


async def hospital_checked(session: AsyncSession, *, person_id: str, hospital_code: str, since: datetime) -> bool:
    """Did this hospital (a hospital token) ask for this person's eligibility since `since`?"""
    q = select(t.c.id).where(t.c.person_id == person_id, t.c.at >= since, t.c.role == "hospital",
                             t.c.hospital_code == hospital_code, t.c.endpoint == ELIGIBILITY).limit(1)
    return (await session.execute(q)).first() is not None


async def query(session: AsyncSession, *, person_id: str | None, subject: str | None, since: datetime | None,
                limit: int, before: tuple[datetime, int] | None = None) -> list[dict[str, Any]]:
    """Newest first; `before` = (at, id) of the previous page's last row."""
    q = select(t).order_by(t.c.at.desc(), t.c.id.desc()).limit(limit)
    if before:
        q = q.where(tuple_(t.c.at, t.c.id) < tuple_(*before))
    if person_id:
        q = q.where(t.c.person_id == person_id)
    if subject:
        q = q.where(t.c.subject == subject)
    if since:
        q = q.where(t.c.at >= since)
    return [dict(r._mapping) for r in await session.execute(q)]

"""SQL of the access audit: who read whose stay or settlement, when, through which endpoint (as identity's)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.ledger.store.tables import access_audit as t


async def record(session: AsyncSession, principal: Principal, endpoint: str, *, stay_id: str | None = None,
                 person_ref: str | None = None, detail: str | None = None) -> None:
    """One row, one INSERT, in the read's own transaction (the read and its record commit together)."""
    await session.execute(insert(t).values(
        subject=principal.subject, role=principal.role.value, hospital_code=principal.hospital_code,
        stay_id=stay_id, person_ref=person_ref, endpoint=endpoint, detail=detail))


async def query(session: AsyncSession, *, person_ref: str | None, subject: str | None, stay_id: str | None,
                before_id: int | None, limit: int) -> list[dict[str, Any]]:
    """Newest first; `before_id` is the previous page's last row."""
    q = select(t).order_by(t.c.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(t.c.id < before_id)
    if person_ref:
        q = q.where(t.c.person_ref == person_ref)
    if subject:
        q = q.where(t.c.subject == subject)
    if stay_id:
        q = q.where(t.c.stay_id == stay_id)
    return [dict(r) for r in (await session.execute(q)).mappings()]

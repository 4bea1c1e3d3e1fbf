"""SQL of agreements and their document custody history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import agreement, document_custody


async def create(session: AsyncSession, row: dict[str, Any], documents: list[str], actor: str,
                 at: datetime) -> None:
    await session.execute(insert(agreement).values(**row))
    if documents:
        await session.execute(insert(document_custody), [
            {"agreement_id": row["agreement_id"], "kind": kind, "action": "kept", "actor": actor, "at": at}
            for kind in documents])


async def get(session: AsyncSession, agreement_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(agreement).where(agreement.c.agreement_id == agreement_id))).mappings().first()
    return dict(row) if row else None


async def documents_held(session: AsyncSession, agreement_id: str) -> list[str]:
    """The kinds the hospital holds now: the custody history replayed (kept, later returned)."""
    rows = (await session.execute(
        select(document_custody.c.kind, document_custody.c.action)
        .where(document_custody.c.agreement_id == agreement_id).order_by(document_custody.c.id))).all()
    held: dict[str, None] = {}
    for kind, action in rows:
        if action == "kept":
            held[kind] = None
        else:
            held.pop(kind, None)
    return list(held)

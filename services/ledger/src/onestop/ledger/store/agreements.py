"""SQL of agreements, their end, and their document custody history."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import agreement, document_custody

Lock = Literal["share", "update"] | None


async def create(session: AsyncSession, row: dict[str, Any], documents: list[str], actor: str,
                 at: datetime) -> None:
    await session.execute(insert(agreement).values(**row))
    if documents:
        await session.execute(insert(document_custody), [
            {"agreement_id": row["agreement_id"], "kind": kind, "action": "kept", "actor": actor, "at": at}
            for kind in documents])


async def get(session: AsyncSession, agreement_id: str, *, lock: Lock = None) -> dict[str, Any] | None:
    """The agreement; `share` holds off its end while an admission under it commits, `update` ends it."""
    query = select(agreement).where(agreement.c.agreement_id == agreement_id)
    if lock == "share":
        query = query.with_for_update(read=True)
    elif lock == "update":
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def active_of_person(session: AsyncSession, person_ref: str) -> list[dict[str, Any]]:
    """Every active agreement of a person, locked to be ended, in a fixed order (no deadlock between two ends)."""
    rows = (await session.execute(
        select(agreement).where(agreement.c.person_ref == person_ref, agreement.c.state == "active")
        .order_by(agreement.c.agreement_id).with_for_update())).mappings().all()
    return [dict(r) for r in rows]


async def end(session: AsyncSession, agreement_id: str, *, reason: str, at: datetime,
              stay_id: str | None = None) -> None:
    await session.execute(update(agreement).where(agreement.c.agreement_id == agreement_id).values(
        state="ended", end_reason=reason, ended_at=at, ended_with_stay_id=stay_id))


async def reopen(session: AsyncSession, agreement_id: str) -> None:
    await session.execute(update(agreement).where(agreement.c.agreement_id == agreement_id).values(
        state="active", end_reason=None, ended_at=None, ended_with_stay_id=None))


async def custody(session: AsyncSession, agreement_id: str) -> list[dict[str, Any]]:
    """The custody history in the order it was recorded: kept at signing, every hand-over after."""
    rows = (await session.execute(
        select(document_custody.c.kind, document_custody.c.action, document_custody.c.actor,
               document_custody.c.returned_to, document_custody.c.at)
        .where(document_custody.c.agreement_id == agreement_id).order_by(document_custody.c.id))).mappings().all()
    return [dict(r) for r in rows]


def held(history: list[dict[str, Any]]) -> list[str]:
    """The kinds the hospital holds now: the custody history replayed (kept, later returned)."""
    now_held: dict[str, None] = {}
    for entry in history:
        if entry["action"] == "kept":
            now_held[entry["kind"]] = None
        else:
            now_held.pop(entry["kind"], None)
    return list(now_held)


async def documents_held(session: AsyncSession, agreement_id: str) -> list[str]:
    return held(await custody(session, agreement_id))


async def add_returns(session: AsyncSession, agreement_id: str, kinds: list[str], *, returned_to: str, actor: str,
                      at: datetime) -> None:
    await session.execute(insert(document_custody), [
        {"agreement_id": agreement_id, "kind": kind, "action": "returned", "returned_to": returned_to,
         "actor": actor, "at": at} for kind in kinds])

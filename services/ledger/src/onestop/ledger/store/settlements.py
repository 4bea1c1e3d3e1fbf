"""SQL of settlements and their per-fund rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import settlement, settlement_fund


async def add(session: AsyncSession, row: dict[str, Any], funds: list[dict[str, Any]]) -> None:
    await session.execute(insert(settlement).values(**row))
    if funds:
        await session.execute(insert(settlement_fund), [{**f, "settlement_id": row["settlement_id"]} for f in funds])


async def get(session: AsyncSession, settlement_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(settlement).where(settlement.c.settlement_id == settlement_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def funds(session: AsyncSession, settlement_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(settlement_fund).where(settlement_fund.c.settlement_id == settlement_id)
                                  .order_by(settlement_fund.c.position))).mappings()
    return [dict(r) for r in rows]


async def standing_parts(session: AsyncSession, stay_id: str) -> list[dict[str, Any]]:
    """The stay's settlements that stand (not reversals, not reversed), in part order."""
    rows = (await session.execute(select(settlement).where(
        settlement.c.stay_id == stay_id, settlement.c.kind != "reversal", settlement.c.reversed_by.is_(None))
        .order_by(settlement.c.part_index))).mappings()
    return [dict(r) for r in rows]


async def of_stay(session: AsyncSession, stay_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(settlement).where(settlement.c.stay_id == stay_id)
                                  .order_by(settlement.c.seq))).mappings()
    return [dict(r) for r in rows]


async def later_standing(session: AsyncSession, original: dict[str, Any]) -> list[str]:
    """Standing settlements computed on top of `original`: the person's later ones of its year, and the later
    parts of its stay (whatever their year)."""
    s = settlement.c
    person_year = (s.person_ref == original["person_ref"]) & (s.newborn == original["newborn"]) & (
        s.year == original["year"]) & (s.seq > original["seq"])
    later_part = (s.stay_id == original["stay_id"]) & (s.part_index > original["part_index"])
    rows = await session.execute(select(s.settlement_id).where(
        person_year | later_part, s.kind != "reversal", s.reversed_by.is_(None)).order_by(s.seq))
    return [r[0] for r in rows]


async def mark_reversed(session: AsyncSession, settlement_id: str, by: str) -> None:
    await session.execute(update(settlement).where(settlement.c.settlement_id == settlement_id)
                          .values(reversed_by=by))

"""SQL of repayment plans and their instalments."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.domain.plans import Instalment
from onestop.ledger.store.tables import instalment, repayment_plan


async def add(session: AsyncSession, row: dict[str, Any], instalments: list[Instalment]) -> None:
    await session.execute(insert(repayment_plan).values(**row))
    await session.execute(insert(instalment), [
        {"plan_id": row["plan_id"], "number": x.number, "due_date": x.due_date, "amount_fen": x.amount}
        for x in instalments])


async def active(session: AsyncSession, stay_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(repayment_plan).where(
        repayment_plan.c.stay_id == stay_id, repayment_plan.c.state == "active"))).mappings().first()
    return dict(row) if row else None


async def of_stay(session: AsyncSession, stay_id: str) -> list[dict[str, Any]]:
    """The stay's plans, newest first."""
    rows = (await session.execute(select(repayment_plan).where(repayment_plan.c.stay_id == stay_id)
                                  .order_by(repayment_plan.c.seq.desc()))).mappings()
    return [dict(r) for r in rows]


async def instalments(session: AsyncSession, plan_id: str) -> list[Instalment]:
    rows = await session.execute(select(instalment.c.number, instalment.c.due_date, instalment.c.amount_fen)
                                 .where(instalment.c.plan_id == plan_id).order_by(instalment.c.number))
    return [Instalment(r[0], r[1], r[2]) for r in rows]


async def replace(session: AsyncSession, plan_id: str, by: str) -> None:
    await session.execute(update(repayment_plan).where(repayment_plan.c.plan_id == plan_id)
                          .values(state="replaced", replaced_by=by))


async def end(session: AsyncSession, plan_id: str, state: str) -> None:
    await session.execute(update(repayment_plan).where(repayment_plan.c.plan_id == plan_id).values(state=state))

"""SQL of payments at the window, and of what a stay's patient owes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import payment, settlement, write_off


async def add(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(payment).values(**row))


async def get(session: AsyncSession, payment_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(payment).where(payment.c.payment_id == payment_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def mark_voided(session: AsyncSession, payment_id: str, by: str) -> None:
    await session.execute(update(payment).where(payment.c.payment_id == payment_id).values(voided_by=by))


async def receipt_taken(session: AsyncSession, hospital_code: str, receipt_no: str) -> str | None:
    row = await session.execute(select(payment.c.payment_id).where(
        payment.c.hospital_code == hospital_code, payment.c.receipt_no == receipt_no))
    return row.scalar()


async def of_stay(session: AsyncSession, stay_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(payment).where(payment.c.stay_id == stay_id)
                                  .order_by(payment.c.seq))).mappings()
    return [dict(r) for r in rows]


async def balance(session: AsyncSession, stay_id: str) -> tuple[int, int]:
    """(due, paid) in fen: the patient's share of the stay's standing settlements (a reversal's negative self-pay
    cancels its original's) less what an operator wrote off, and the sum of its payment records (refunds and voids
    signed)."""
    written_off = select(func.coalesce(func.sum(write_off.c.amount_fen), 0)).where(
        write_off.c.stay_id == stay_id).scalar_subquery()
    due = await session.execute(select(func.coalesce(func.sum(settlement.c.self_pay_fen), 0) - written_off)
                                .where(settlement.c.stay_id == stay_id))
    paid = await session.execute(select(func.coalesce(func.sum(payment.c.amount_fen), 0))
                                 .where(payment.c.stay_id == stay_id))
    return int(due.scalar_one()), int(paid.scalar_one())


async def day(session: AsyncSession, hospital_code: str, on: date) -> list[dict[str, Any]]:
    """A hospital's records of a day, by cashier and method: count and sums by kind (the daily close)."""
    p = payment.c
    rows = await session.execute(
        select(p.cashier, p.method, p.kind, func.count(), func.sum(p.amount_fen))
        .where(p.hospital_code == hospital_code, p.paid_on == on)
        .group_by(p.cashier, p.method, p.kind).order_by(p.cashier, p.method, p.kind))
    return [{"cashier": r[0], "method": r[1], "kind": r[2], "count": int(r[3]), "amount_fen": int(r[4])}
            for r in rows]


async def write_off_owed(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(write_off).values(**row))

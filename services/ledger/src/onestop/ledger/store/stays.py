"""SQL of stays."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, literal, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import stay


async def open_stay_of(session: AsyncSession, person_ref: str, newborn: int, hospital_code: str) -> str | None:
    return (await session.execute(select(stay.c.stay_id).where(
        stay.c.person_ref == person_ref, stay.c.newborn == newborn, stay.c.hospital_code == hospital_code,
        stay.c.state == "open"))).scalar_one_or_none()


async def create(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Insert; False when another open stay of the person at the hospital won the race (ux_stay_open)."""
    try:
        async with session.begin_nested():
            await session.execute(insert(stay).values(**row))
    except IntegrityError as exc:
        if "ux_stay_open" in str(exc.orig):
            return False
        raise
    return True


async def get(session: AsyncSession, stay_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(stay).where(stay.c.stay_id == stay_id)
    if for_update:
        query = query.with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def cancel(session: AsyncSession, stay_id: str, reason: str, at: datetime) -> None:
    await session.execute(update(stay).where(stay.c.stay_id == stay_id)
                          .values(state="cancelled", cancel_reason=reason, cancelled_at=at))


async def close(session: AsyncSession, stay_id: str, *, through: date, discharged_at: datetime | None,
                discharge_way: str | None) -> None:
    """A final settlement closes the stay; a mid-stay part moves `settled_through` and leaves it open."""
    values: dict[str, Any] = {"settled_through": through}
    if discharged_at is not None:
        values.update(state="settled", discharged_at=discharged_at, discharge_way=discharge_way)
    await session.execute(update(stay).where(stay.c.stay_id == stay_id).values(**values))


async def close_if_unchanged(session: AsyncSession, stay_id: str, *, lines_version: int,
                             settled_through: date | None, through: date, discharged_at: datetime | None,
                             discharge_way: str | None) -> bool:
    """`close` in the same statement that locks the stay, if it is still open with the bill (`lines_version`) and
    the settled parts (`settled_through`) a quote was made on; False when it moved (nothing written)."""
    values: dict[str, Any] = {"settled_through": through}
    if discharged_at is not None:
        values.update(state="settled", discharged_at=discharged_at, discharge_way=discharge_way)
    c = stay.c
    res = await session.execute(update(stay).where(
        c.stay_id == stay_id, c.state == "open", c.lines_version == lines_version,
        c.settled_through.is_(None) if settled_through is None else c.settled_through == settled_through)
        .values(**values).returning(c.stay_id))
    return res.first() is not None


async def reopen(session: AsyncSession, stay_id: str, settled_through: date | None) -> bool:
    """A reversal reopens the stay for correction; False when another open stay of the person at the hospital
    now holds the place (ux_stay_open)."""
    try:
        async with session.begin_nested():
            await session.execute(update(stay).where(stay.c.stay_id == stay_id).values(
                state="open", settled_through=settled_through, discharged_at=None, discharge_way=None))
    except IntegrityError as exc:
        if "ux_stay_open" in str(exc.orig):
            return False
        raise
    return True


async def others_open_under(session: AsyncSession, agreement_id: str, stay_id: str) -> bool:
    """Whether another stay under the agreement is still open (a mother's and her newborns' share one agreement)."""
    return (await session.execute(select(stay.c.stay_id).where(
        stay.c.agreement_id == agreement_id, stay.c.state == "open", stay.c.stay_id != stay_id).limit(1))
    ).first() is not None


async def admitted_under_at(session: AsyncSession, agreement_id: str, hospital_code: str) -> bool:
    """Whether the hospital admitted a stay under the agreement (a city-wide agreement used elsewhere)."""
    return (await session.execute(select(stay.c.stay_id).where(
        stay.c.agreement_id == agreement_id, stay.c.hospital_code == hospital_code).limit(1))).first() is not None


async def page(session: AsyncSession, *, hospital_code: str | None, region_prefix: str | None, state: str | None,
               admitted_from: datetime | None, admitted_before: datetime | None,
               after: tuple[datetime, str] | None, limit: int) -> list[dict[str, Any]]:
    """Stays by (admitted_at, stay_id); `region_prefix` matches the insurance or the hospital's region."""
    c = stay.c
    q = select(stay)
    if hospital_code is not None:
        q = q.where(c.hospital_code == hospital_code)
    if region_prefix is not None:
        q = q.where(or_(c.insurance_region_code.startswith(region_prefix, autoescape=True),
                        c.hospital_region_code.startswith(region_prefix, autoescape=True)))
    if state is not None:
        q = q.where(c.state == state)
    if admitted_from is not None:
        q = q.where(c.admitted_at >= admitted_from)
    if admitted_before is not None:
        q = q.where(c.admitted_at < admitted_before)
    if after is not None:
        key = tuple_(literal(after[0], c.admitted_at.type), literal(after[1], c.stay_id.type))
        q = q.where(tuple_(c.admitted_at, c.stay_id) > key)
    rows = (await session.execute(q.order_by(c.admitted_at, c.stay_id).limit(limit))).mappings()
    return [dict(r) for r in rows]

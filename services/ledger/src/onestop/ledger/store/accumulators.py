"""SQL of the person-year accumulators (DESIGN §5): read without a lock for the quote, locked to apply a delta."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import accumulator


def _key(person_ref: str, newborn: int, year: int) -> Any:
    c = accumulator.c
    return (c.person_ref == person_ref) & (c.newborn == newborn) & (c.year == year)


async def read(session: AsyncSession, person_ref: str, newborn: int, year: int) -> tuple[dict[str, Any], int]:
    """(state, version); ({}, 0) for a person-year with no settlement yet."""
    row = (await session.execute(select(accumulator.c.state, accumulator.c.version)
                                 .where(_key(person_ref, newborn, year)))).first()
    return (dict(row.state), int(row.version)) if row else ({}, 0)


async def lock(session: AsyncSession, person_ref: str, newborn: int, year: int) -> tuple[dict[str, Any], int]:
    """The row locked for this transaction (created empty first if need be): settlements of one person-year,
    at any hospital, apply their deltas one after the other."""
    await session.execute(insert(accumulator).values(person_ref=person_ref, newborn=newborn, year=year, state={},
                                                     version=0).on_conflict_do_nothing())
    row = (await session.execute(select(accumulator.c.state, accumulator.c.version)
                                 .where(_key(person_ref, newborn, year)).with_for_update())).one()
    return dict(row.state), int(row.version)


async def write_if_unmoved(session: AsyncSession, person_ref: str, newborn: int, year: int, state: dict[str, Any],
                           read_version: int) -> bool:
    """Apply `state` as version `read_version + 1` in one statement if the row is still at the version the quote
    was made on (0: no row yet, inserted now); False when it moved or another settlement holds it, and the caller
    locks it (`lock`) and quotes again. The UPDATE takes the row lock that `lock` would; if another transaction
    held it, the version is compared again on the row that transaction committed."""
    c = accumulator.c
    if read_version == 0:
        stmt: Any = insert(accumulator).values(person_ref=person_ref, newborn=newborn, year=year, state=state,
                                               version=1).on_conflict_do_nothing().returning(c.version)
    else:
        stmt = (update(accumulator).where(_key(person_ref, newborn, year), c.version == read_version)
                .values(state=state, version=read_version + 1, updated_at=func.now()).returning(c.version))
    return (await session.execute(stmt)).first() is not None


async def write(session: AsyncSession, person_ref: str, newborn: int, year: int, state: dict[str, Any],
                version: int) -> None:
    await session.execute(update(accumulator).where(_key(person_ref, newborn, year))
                          .values(state=state, version=version, updated_at=func.now()))

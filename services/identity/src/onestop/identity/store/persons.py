"""Repository of persons as the person view reads them: current rows and history."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.identity.store.tables import credit_case, insurance_enrolment, person, person_profile, person_status


async def get(session: AsyncSession, person_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(person).where(person.c.person_id == person_id))).first()
    return dict(row._mapping) if row else None


async def find_by_index(session: AsyncSession, id_index: str) -> str | None:
    """The person_id behind a blind index, or None."""
    q = select(person.c.person_id).where(person.c.id_index == id_index)
    return (await session.execute(q)).scalar_one_or_none()


async def profiles(session: AsyncSession, person_id: str) -> list[dict[str, Any]]:
    """Every profile version, newest first (the current one has superseded_at None)."""
    q = select(person_profile).where(person_profile.c.person_id == person_id).order_by(person_profile.c.id.desc())
    return [dict(r._mapping) for r in await session.execute(q)]


async def statuses(session: AsyncSession, person_id: str) -> list[dict[str, Any]]:
    q = select(person_status).where(person_status.c.person_id == person_id).order_by(person_status.c.id)
    return [dict(r._mapping) for r in await session.execute(q)]


async def enrolments(session: AsyncSession, person_id: str) -> list[dict[str, Any]]:
    q = (select(insurance_enrolment).where(insurance_enrolment.c.person_id == person_id)
         .order_by(insurance_enrolment.c.id))
    return [dict(r._mapping) for r in await session.execute(q)]


async def blacklist_regions(session: AsyncSession, person_id: str) -> list[str]:
    q = select(credit_case.c.region_code).where(credit_case.c.person_id == person_id,
                                               credit_case.c.state == "blacklisted")
    return list((await session.execute(q)).scalars())

"""Repository of credit cases (诚信) and their history of transitions."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.identity.store.tables import credit_case as t
from onestop.identity.store.tables import credit_case_event as ev

OPEN_STATES = ("suspected", "blacklisted")


async def lock_person(session: AsyncSession, person_id: str) -> None:
    """Serialise case changes of one person (two overdue events must not open two cases)."""
    from sqlalchemy import text

    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"credit:{person_id}"})


async def open_case_of(session: AsyncSession, person_id: str) -> dict[str, Any] | None:
    q = select(t).where(t.c.person_id == person_id, t.c.state.in_(OPEN_STATES)).limit(1)
    row = (await session.execute(q)).first()
    return dict(row._mapping) if row else None


async def create(session: AsyncSession, *, case_id: str, person_id: str, region_code: str, origin: str,
                 plan_id: str | None) -> None:
    await session.execute(t.insert().values(case_id=case_id, person_id=person_id, region_code=region_code,
                                            origin=origin, plan_id=plan_id, state="suspected"))


async def get_for_update(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(t).where(t.c.case_id == case_id).with_for_update())).first()
    return dict(row._mapping) if row else None


async def get(session: AsyncSession, case_id: str) -> dict[str, Any] | None:
    row = (await session.execute(select(t).where(t.c.case_id == case_id))).first()
    return dict(row._mapping) if row else None


async def set_state(session: AsyncSession, case_id: str, state: str) -> None:
    await session.execute(update(t).where(t.c.case_id == case_id).values(state=state))


async def add_event(session: AsyncSession, *, case_id: str, state: str, reason: str, actor: str,
                    household_visit_on: date | None = None, reason_code: str | None = None) -> None:
    await session.execute(ev.insert().values(case_id=case_id, state=state, reason=reason, actor=actor,
                                             household_visit_on=household_visit_on, reason_code=reason_code))


async def history(session: AsyncSession, case_id: str) -> list[dict[str, Any]]:
    q = select(ev.c.state, ev.c.reason, ev.c.reason_code, ev.c.actor, ev.c.household_visit_on, ev.c.at).where(
        ev.c.case_id == case_id).order_by(ev.c.id)
    return [dict(r._mapping) for r in await session.execute(q)]


async def cases_of(session: AsyncSession, person_id: str) -> list[dict[str, Any]]:
    q = select(t).where(t.c.person_id == person_id).order_by(t.c.opened_at)
    return [dict(r._mapping) for r in await session.execute(q)]


async def suspected_of_plan(session: AsyncSession, plan_id: str) -> dict[str, Any] | None:
    """The suspected case the ledger opened for a repayment plan (locked), if one is open."""
    q = select(t).where(t.c.plan_id == plan_id, t.c.state == "suspected").with_for_update().limit(1)
    row = (await session.execute(q)).first()
    return dict(row._mapping) if row else None

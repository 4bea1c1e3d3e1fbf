"""Repository of the treat-first rules identity has applied (from policy.published)."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.identity.store.tables import treat_first_rule as t


async def record_rule(session: AsyncSession, *, region_code: str, version: int, policy_id: str,
                      valid_from: date, rule: dict[str, Any] | None, event_id: str) -> None:
    await session.execute(
        insert(t).values(region_code=region_code, version=version, policy_id=policy_id, valid_from=valid_from,
                         rule=rule, event_id=event_id).on_conflict_do_nothing()
    )


async def versions_applied(session: AsyncSession, region_code: str) -> list[tuple[int, str]]:
    rows = await session.execute(
        select(t.c.version, t.c.event_id).where(t.c.region_code == region_code).order_by(t.c.version)
    )
    return [(r.version, r.event_id) for r in rows]


async def current_rule_row(session: AsyncSession, region_code: str, on: date) -> dict[str, Any] | None:
    """The applied rule in force on a date with its policy id and version."""
    row = (
        await session.execute(
            select(t.c.rule, t.c.version, t.c.policy_id).where(t.c.region_code == region_code, t.c.valid_from <= on)
            .order_by(t.c.valid_from.desc(), t.c.version.desc()).limit(1)
        )
    ).first()
    return dict(row._mapping) if row else None

"""Repository of published policy versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.rules.store.tables import policy_version as t


@dataclass(frozen=True)
class StoredVersion:
    policy_id: str
    version: int
    region_code: str
    valid_from: date
    filename: str
    source_text: str
    parts: list[str]
    published_by: str
    published_at: datetime


async def all_versions(session: AsyncSession) -> list[StoredVersion]:
    rows = await session.execute(select(t).order_by(t.c.published_at, t.c.policy_id, t.c.version))
    return [StoredVersion(**r._mapping) for r in rows]


async def lock_policy(session: AsyncSession, policy_id: str) -> None:
    """Serialise publications of one policy so versions are gap-free and never collide."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(f"policy:{policy_id}", 0))))


async def max_version(session: AsyncSession, policy_id: str) -> int:
    v = (await session.execute(select(func.max(t.c.version)).where(t.c.policy_id == policy_id))).scalar()
    return int(v or 0)


async def insert_version(session: AsyncSession, v: StoredVersion) -> None:
    await session.execute(
        t.insert().values(policy_id=v.policy_id, version=v.version, region_code=v.region_code,
                          valid_from=v.valid_from, filename=v.filename, source_text=v.source_text,
                          parts=v.parts, published_by=v.published_by, published_at=v.published_at)
    )

"""SQL of the statements side of a stay: the estimate's audit rows, discharge notices, cost alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import cost_alert, cost_alert_check, discharge_notice, estimate_audit


async def audit_estimate(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(estimate_audit).values(**row))


async def add_notice(session: AsyncSession, row: dict[str, Any]) -> None:
    await session.execute(insert(discharge_notice).values(**row))


async def latest_notice(session: AsyncSession, stay_id: str, *, at_or_before: datetime) -> dict[str, Any] | None:
    """The stay's last discharge notice told at or before an instant."""
    row = (await session.execute(select(discharge_notice).where(
        discharge_notice.c.stay_id == stay_id, discharge_notice.c.told_at <= at_or_before)
        .order_by(discharge_notice.c.seq.desc()).limit(1))).mappings().first()
    return dict(row) if row else None


async def raise_alert(session: AsyncSession, row: dict[str, Any]) -> bool:
    """Record a crossed threshold; False when it was raised before (once per threshold per stay)."""
    done = await session.execute(pg_insert(cost_alert).values(**row).on_conflict_do_nothing(
        index_elements=[cost_alert.c.stay_id, cost_alert.c.threshold_fen]).returning(cost_alert.c.alert_id))
    return done.first() is not None


async def alerts(session: AsyncSession, stay_id: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(cost_alert).where(cost_alert.c.stay_id == stay_id)
                                  .order_by(cost_alert.c.threshold_fen))).mappings()
    return [dict(r) for r in rows]


async def checked_version(session: AsyncSession, stay_id: str) -> int | None:
    return (await session.execute(select(cost_alert_check.c.lines_version)
                                  .where(cost_alert_check.c.stay_id == stay_id))).scalar_one_or_none()


async def mark_checked(session: AsyncSession, stay_id: str, lines_version: int) -> None:
    """Remember the newest bill the consumer estimated (never going back to an older one)."""
    q = pg_insert(cost_alert_check).values(stay_id=stay_id, lines_version=lines_version, checked_at=func.now())
    await session.execute(q.on_conflict_do_update(index_elements=[cost_alert_check.c.stay_id], set_={
        "lines_version": func.greatest(cost_alert_check.c.lines_version, q.excluded.lines_version),
        "checked_at": func.now()}))


"""SQL of the daily repayment check: unpaid instalments of active plans, set-based (one query a region), and the
notices it has given, claimed once each."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.ledger.store.tables import repayment_notice, repayment_plan, visit

# Payments pay a plan's oldest instalment first: an instalment is unpaid while the running sum of the amounts up to
# it exceeds what was paid towards the plan (the stay's payments since signing).
_UNPAID = text("""
WITH plans AS (
    SELECT p.plan_id, p.stay_id, p.person_ref, p.hospital_code, p.insurance_region_code,
           GREATEST(COALESCE((SELECT sum(y.amount_fen) FROM payment y WHERE y.stay_id = p.stay_id), 0)::bigint
                    - p.paid_before_fen, 0) AS towards
    FROM repayment_plan p
    WHERE p.state = 'active' AND p.insurance_region_code = :region
), inst AS (
    SELECT i.plan_id, i.number, i.due_date, i.amount_fen,
           (sum(i.amount_fen) OVER (PARTITION BY i.plan_id ORDER BY i.number))::bigint AS cum,
           pl.towards, pl.stay_id, pl.person_ref, pl.hospital_code, pl.insurance_region_code
    FROM instalment i JOIN plans pl ON pl.plan_id = i.plan_id
)
SELECT plan_id, number, due_date, LEAST(amount_fen, cum - towards) AS unpaid_fen, stay_id, person_ref,
       hospital_code, insurance_region_code
FROM inst
WHERE cum > towards AND (due_date = ANY(:reminder_dates) OR due_date < :as_of)
ORDER BY plan_id, number
""")


async def regions(session: AsyncSession) -> list[str]:
    rows = await session.execute(select(repayment_plan.c.insurance_region_code).distinct()
                                 .where(repayment_plan.c.state == "active"))
    return [r[0] for r in rows]


async def unpaid(session: AsyncSession, region: str, as_of: date, reminder_dates: list[date]) -> list[dict[str, Any]]:
    """Unpaid instalments of the region's active plans that fall due on one of `reminder_dates` or before `as_of`."""
    rows = await session.execute(_UNPAID, {"region": region, "as_of": as_of, "reminder_dates": reminder_dates})
    return [dict(r) for r in rows.mappings()]


async def claim_notices(session: AsyncSession, keys: list[tuple[str, int, str]], as_of: date,
                        at: datetime) -> set[tuple[str, int, str]]:
    """Record the notices (plan, instalment, kind) not given before; answers those that are new."""
    out: set[tuple[str, int, str]] = set()
    for i in range(0, len(keys), 5000):  # asyncpg takes at most 32,767 parameters a statement
        chunk = keys[i:i + 5000]
        rows = await session.execute(
            insert(repayment_notice).values([{"plan_id": p, "number": n, "kind": k, "as_of": as_of, "at": at}
                                             for p, n, k in chunk])
            .on_conflict_do_nothing().returning(repayment_notice.c.plan_id, repayment_notice.c.number,
                                                repayment_notice.c.kind))
        out |= {(str(r[0]), r[1], r[2]) for r in rows}
    return out


async def add_visits(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    for i in range(0, len(rows), 1000):
        await session.execute(insert(visit), rows[i:i + 1000])


async def visits(session: AsyncSession, *, region_prefix: str | None, hospital_code: str | None, state: str | None,
                 after_seq: int | None, limit: int) -> list[dict[str, Any]]:
    """Visit tasks in creation order; `region_prefix` matches a county and, for a city or province, its counties."""
    v = visit.c
    query = select(visit)
    if region_prefix:
        query = query.where(v.region_code.startswith(region_prefix))
    if hospital_code:
        query = query.where(v.hospital_code == hospital_code)
    if state:
        query = query.where(v.state == state)
    if after_seq is not None:
        query = query.where(v.seq > after_seq)
    rows = await session.execute(query.order_by(v.seq).limit(limit))
    return [dict(r) for r in rows.mappings()]


async def visit_for_update(session: AsyncSession, visit_id: str) -> dict[str, Any] | None:
    query = select(visit).where(visit.c.visit_id == visit_id).with_for_update()
    row = (await session.execute(query)).mappings().first()
    return dict(row) if row else None


async def update_visit(session: AsyncSession, visit_id: str, **values: Any) -> None:
    await session.execute(visit.update().where(visit.c.visit_id == visit_id).values(**values))

"""SQL of the fund budgets: a fund's consumption over a period, the regions with postings, reached thresholds."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.store.tables import budget_threshold

# A fund consumes what was advanced on its behalf (its `advance` legs) less what was reversed, by the ledger's
# settlement time; claims, decisions and payments move it between accounts but do not change what it consumed.
_CONSUMED = text("""
SELECT coalesce(sum(CASE code WHEN 'advance' THEN amount ELSE -amount END), 0)::bigint AS fen
FROM transfer
WHERE code IN ('advance', 'reversal') AND payer = :payer AND region_code = :region
  AND settled_at >= :starts AND settled_at < :ends
""")


async def consumed(session: AsyncSession, payer: str, region_code: str, starts: datetime, ends: datetime) -> int:
    return int((await session.execute(_CONSUMED, {"payer": payer, "region": region_code, "starts": starts,
                                                  "ends": ends})).scalar_one())


async def regions(session: AsyncSession) -> list[str]:
    """The insurance regions whose funds have accounts (a fund's account opens on its first posting)."""
    return [r[0] for r in await session.execute(text("SELECT DISTINCT region_code FROM account ORDER BY 1"))]


async def reached(session: AsyncSession, payer: str, region_code: str, period_start: object) -> list[int]:
    rows = await session.execute(text("SELECT threshold FROM budget_threshold WHERE payer = :p AND region_code = :r "
                                      "AND period_start = :s ORDER BY threshold"),
                                 {"p": payer, "r": region_code, "s": period_start})
    return [int(r[0]) for r in rows]


async def mark(session: AsyncSession, payer: str, region_code: str, period_start: object, threshold: int,
               consumed_fen: int) -> bool:
    """Record a threshold as reached; False when it was already (its event went out then)."""
    stmt = insert(budget_threshold).values(payer=payer, region_code=region_code, period_start=period_start,
                                           threshold=threshold, consumed=consumed_fen).on_conflict_do_nothing()
    return bool((await session.execute(stmt.returning(budget_threshold.c.payer))).first())

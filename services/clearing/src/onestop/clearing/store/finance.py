"""SQL of the hospital finance view: the legs a hospital advanced that no fund has paid yet."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# An advance leg less its reversal's correction (a reversal names the leg it corrects), by the ledger's
# settlement time. Claims, decisions and disbursements (the claims piece, clearing/claims/) will take paid and
# rejected amounts off here once their transfers carry the settlement: until then every unreversed leg is unpaid.
_UNPAID = text("""
SELECT t.settlement_id, t.payer, t.region_code, t.settled_at,
       (t.amount - coalesce((SELECT sum(c.amount) FROM transfer c
                             WHERE c.corrects_id = t.id AND c.code = 'reversal'), 0))::bigint AS amount
FROM transfer t
WHERE t.code = 'advance' AND t.hospital_code = :hospital AND t.region_code LIKE :region_prefix
ORDER BY t.settled_at, t.settlement_id, t.payer, t.region_code
""")


async def unpaid(session: AsyncSession, hospital_code: str, region_prefix: str) -> list[Any]:
    return [r for r in await session.execute(_UNPAID, {"hospital": hospital_code,
                                                       "region_prefix": f"{region_prefix}%"}) if r.amount > 0]


async def claims_of(session: AsyncSession, hospital_code: str, region_prefix: str) -> list[Any]:
    """The hospital's claims (withdrawn ones too: they are history), newest month first."""
    from onestop.clearing.store.tables import claim

    c = claim.c
    return list(await session.execute(
        claim.select().where(c.hospital_code == hospital_code, c.region_code.like(f"{region_prefix}%"))
        .order_by(c.setlym.desc(), c.payer, c.submitted_at.desc())))

"""SQL of the reconciliation: clearing's legs as of a cut-off, and recorded runs with their differences."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.store.tables import reconciliation_difference, reconciliation_run

# A leg is a settlement's advance (+) or its reversal's correction (-), keyed by the settlement that made it.
# Only legs of settlements the ledger committed at or before the cut-off count (`settled_at` is the ledger's
# commit); in a month, the legs of the ledger's listed settlements plus those settled in that month (Asia/Shanghai)
# that the ledger did not list — a leg missing in the ledger has no `through` date here to place it by.
_LEGS = text("""
SELECT settlement_id, hospital_code, payer, region_code, settled_at,
       sum(CASE code WHEN 'advance' THEN amount ELSE -amount END)::bigint AS amount
FROM transfer
WHERE code IN ('advance', 'reversal') AND settled_at <= :cutoff
  AND (CAST(:hospital AS text) IS NULL OR hospital_code = :hospital)
  AND (CAST(:payer AS text) IS NULL OR payer = :payer)
  AND region_code LIKE :region_prefix
  AND (CAST(:starts AS timestamptz) IS NULL OR settlement_id = ANY(:ids)
       OR (settled_at >= :starts AND settled_at < :ends))
GROUP BY settlement_id, hospital_code, payer, region_code, settled_at
""")


async def legs(session: AsyncSession, *, cutoff: datetime, hospital_code: str | None, payer: str | None,
               region_prefix: str, month: tuple[datetime, datetime] | None, ids: Sequence[str]) -> list[Any]:
    starts, ends = month or (None, None)
    return list(await session.execute(_LEGS, {
        "cutoff": cutoff, "hospital": hospital_code, "payer": payer, "region_prefix": f"{region_prefix}%",
        "starts": starts, "ends": ends, "ids": list(ids)}))


async def record(session: AsyncSession, *, asked: dict[str, Any], cutoff: datetime, equal: bool,
                 groups: list[dict[str, Any]], differences: list[dict[str, Any]], by: str) -> uuid.UUID:
    run_id = uuid.uuid4()
    await session.execute(insert(reconciliation_run).values(id=run_id, cutoff=cutoff, equal=equal, groups=groups,
                                                            created_by=by, **asked))
    if differences:
        await session.execute(insert(reconciliation_difference),
                              [{"run_id": run_id, "n": n, **d} for n, d in enumerate(differences, 1)])
    return run_id


async def run(session: AsyncSession, run_id: uuid.UUID) -> tuple[Any, list[Any]] | None:
    r = (await session.execute(select(reconciliation_run).where(reconciliation_run.c.id == run_id))).one_or_none()
    if r is None:
        return None
    diffs = list(await session.execute(select(reconciliation_difference).where(
        reconciliation_difference.c.run_id == run_id).order_by(reconciliation_difference.c.n)))
    return r, diffs


async def difference_for_update(session: AsyncSession, run_id: uuid.UUID, n: int) -> Any:
    return (await session.execute(select(reconciliation_difference).where(
        reconciliation_difference.c.run_id == run_id, reconciliation_difference.c.n == n).with_for_update(),
    )).one_or_none()


async def set_state(session: AsyncSession, run_id: uuid.UUID, n: int, *, state: str, note: str, by: str) -> None:
    await session.execute(update(reconciliation_difference).where(
        reconciliation_difference.c.run_id == run_id, reconciliation_difference.c.n == n).values(
        state=state, note=note, updated_by=by, updated_at=text("now()")))

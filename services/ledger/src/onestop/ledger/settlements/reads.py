"""Reading settlements: one by id, a stay's."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.common.errors import NotFound
from onestop.ledger.settlements.shape import shape
from onestop.ledger.stays.service import check_scope, get_row
from onestop.ledger.store import settlements, statements


async def one(session: AsyncSession, principal: Principal, settlement_id: str) -> dict[str, Any]:
    try:
        uuid.UUID(settlement_id)
    except ValueError:
        raise NotFound("no such settlement") from None
    row = await settlements.get(session, settlement_id)
    if row is None:
        raise NotFound("no such settlement")
    try:
        check_scope(principal, await get_row(session, row["stay_id"]))
    except NotFound:
        raise NotFound("no such settlement") from None
    return shape(row, await settlements.funds(session, settlement_id), await _notice(session, row))


async def of_stay(session: AsyncSession, principal: Principal, stay_id: str) -> dict[str, Any]:
    check_scope(principal, await get_row(session, stay_id))
    rows = await settlements.of_stay(session, stay_id)
    return {"items": [shape(r, await settlements.funds(session, r["settlement_id"]), await _notice(session, r))
                      for r in rows]}


async def _notice(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any] | None:
    """The discharge notice a final settlement is compared with: the stay's latest told before it."""
    if row["kind"] != "final":
        return None
    return await statements.latest_notice(session, row["stay_id"], at_or_before=row["settled_at"])

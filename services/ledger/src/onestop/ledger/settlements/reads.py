"""Reading settlements: one by id (as the API shapes it, or in the national 2304 names), a stay's, and the fee
lines one took. Every read writes one access-audit row in its own transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal
from onestop.common.errors import NotFound
from onestop.contracts.enums import Role
from onestop.contracts.money import format_fen
from onestop.ledger.domain import nhsa
from onestop.ledger.settlements.scope import can_read
from onestop.ledger.settlements.shape import shape
from onestop.ledger.stays.service import audited_read, check_scope, get_row
from onestop.ledger.store import audit, settlement_lists, settlements, statements

ONE, LINES, OF_STAY = ("GET /v1/settlements/{settlement_id}", "GET /v1/settlements/{settlement_id}/lines",
                       "GET /v1/stays/{stay_id}/settlements")


async def _readable(session: AsyncSession, principal: Principal, settlement_id: str) -> tuple[
        dict[str, Any], dict[str, Any]]:
    """The settlement and its stay, if the caller may read it; otherwise 404 (an id says nothing of others)."""
    try:
        uuid.UUID(settlement_id)
    except ValueError:
        raise NotFound("no such settlement") from None
    row = await settlements.get(session, settlement_id)
    if row is None:
        raise NotFound("no such settlement")
    stay = await get_row(session, row["stay_id"])
    if principal.role in (Role.payer, Role.service, Role.operator):
        if not can_read(principal, row, await settlement_lists.payers_of(session, settlement_id)):
            raise NotFound("no such settlement")
        return row, stay
    try:
        check_scope(principal, stay)
    except NotFound:
        raise NotFound("no such settlement") from None
    return row, stay


async def one(session: AsyncSession, principal: Principal, settlement_id: str, *, national: bool = False
              ) -> dict[str, Any]:
    """`national`: `setlinfo` and `setldetail` in NHSA 2304's names (domain/nhsa.py), beside the ids."""
    row, stay = await _readable(session, principal, settlement_id)
    await audit.record(session, principal, ONE, stay_id=row["stay_id"], person_ref=row["person_ref"],
                       detail=f"settlement {settlement_id}" + (" shape=nhsa" if national else ""))
    funds = await settlements.funds(session, settlement_id)
    if national:
        return {"settlement_id": row["settlement_id"], "kind": row["kind"], "reverses": row.get("reverses"),
                **nhsa.view(row, funds, stay_kind=stay["kind"], chronic=stay["chronic"],
                            insurance=stay["person_facts"].get("insurance"))}
    return shape(row, funds, await _notice(session, row))


async def of_stay(session: AsyncSession, principal: Principal, stay_id: str) -> dict[str, Any]:
    await audited_read(session, principal, stay_id, OF_STAY)
    rows = await settlements.of_stay(session, stay_id)
    return {"items": [shape(r, await settlements.funds(session, r["settlement_id"]), await _notice(session, r))
                      for r in rows]}


async def lines(session: AsyncSession, principal: Principal, settlement_id: str) -> dict[str, Any]:
    """The fee lines the settlement took, refunds among them (netted against their line by the quote); a
    reversal's are those of the settlement it reverses (given back to the stay by it)."""
    row, _stay = await _readable(session, principal, settlement_id)
    await audit.record(session, principal, LINES, stay_id=row["stay_id"], person_ref=row["person_ref"],
                       detail=f"settlement {settlement_id}")
    taken = await settlement_lists.lines(session, row["reverses"] if row["kind"] == "reversal" else settlement_id)
    return {"settlement_id": settlement_id, "stay_id": row["stay_id"], "kind": row["kind"],
            "total": format_fen(sum(r["amount_fen"] for r in taken)), "items": [_line(r) for r in taken]}


def _line(r: dict[str, Any]) -> dict[str, Any]:
    return {"line_id": r["line_id"], "code": r["code"], "name": r["name"], "class": r["fee_class"],
            "amount": format_fen(r["amount_fen"]), "occurred_at": r["occurred_at"].isoformat(),
            "quantity": None if r["quantity"] is None else str(r["quantity"]),
            "unit_price": None if r["unit_price_fen"] is None else format_fen(r["unit_price_fen"]),
            "refunds_line_id": r["refunds_line_id"],
            "withdrawn_at": r["withdrawn_at"].isoformat() if r["withdrawn_at"] else None}


async def _notice(session: AsyncSession, row: dict[str, Any]) -> dict[str, Any] | None:
    """The discharge notice a final settlement is compared with: the stay's latest told before it."""
    if row["kind"] != "final":
        return None
    return await statements.latest_notice(session, row["stay_id"], at_or_before=row["settled_at"])

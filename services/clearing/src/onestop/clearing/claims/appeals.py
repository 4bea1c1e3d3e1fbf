"""An appeal (申诉): the hospital resubmits a rejected or deducted item once, with a note, to be decided again.

The rejected part's posting (Dr rejected / Cr advance) is corrected back (Dr advance / Cr rejected, naming it)
and reserved again by a new pending Dr claimed / Cr advance; the item is open for one more decision on that part
(claims/decisions.py), and its claim is `submitted` again until it is decided.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.claims.service import load, read
from onestop.clearing.domain.accounts import AccountKey, Code, Fund, accounts_of
from onestop.clearing.domain.transfers import Kind, Transfer, transfer_id
from onestop.clearing.store import books
from onestop.clearing.store import claims as store
from onestop.common.auth import Principal
from onestop.common.errors import Conflict, Forbidden, InvalidInput, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role


async def appeal(runtime: Runtime, principal: Principal, session: AsyncSession, claim_id: str, *,
                 settlement_id: str, note: str) -> dict[str, Any]:
    """Reopen an item's rejected part; 409 for an item not rejected or deducted, or appealed before."""
    row = await load(session, claim_id)
    if not (principal.role is Role.hospital and principal.hospital_code == row.hospital_code):
        raise Forbidden("an item is appealed by its hospital")
    fund, hospital = Fund(row.payer, row.region_code), row.hospital_code
    await books.open_and_lock(session, accounts_of(hospital, fund).values())
    row = await store.get(session, row.id, lock=True)
    item = next((i for i in await store.items(session, row.id)
                 if i.kind == "leg" and i.settlement_id == settlement_id), None)
    if item is None:
        raise InvalidInput("not a leg of this claim", errors=[field_error("settlement_id", "not in this claim")])
    if item.decision not in ("reject", "deduct") or item.appealed:
        raise Conflict("only a rejected or deducted item is appealed, once",
                       errors=[field_error("settlement_id", "not rejected, or appealed before")])
    rest = int(item.amount) - int(item.approved)
    origin = f"decision:{row.id}"
    rejection = transfer_id(origin, fund, f"{settlement_id}|rest")  # what claims/decisions.py posted
    pending = Transfer(transfer_id(f"appeal:{row.id}", fund, settlement_id), AccountKey(hospital, fund, Code.claimed),
                       AccountKey(hospital, fund, Code.advance), rest, "claim", Kind.pending,
                       settlement_id=settlement_id)
    back = Transfer(transfer_id(f"appeal:{row.id}", fund, f"{settlement_id}|back"),
                    AccountKey(hospital, fund, Code.advance), AccountKey(hospital, fund, Code.rejected), rest,
                    "appeal", corrects_id=rejection, settlement_id=settlement_id, reason=note)
    await books.post(session, [back, pending])
    await store.update_item(session, row.id, settlement_id, appealed=True, appeal_note=note, decision=None,
                            appeal_transfer_id=pending.id, approved_before_appeal=int(item.approved))
    if row.status == "decided":
        open_ = [c for c in await store.claims_of_period(session, hospital, fund, row.setlym)
                 if c.status == "submitted"]
        if open_:
            raise Conflict("another claim of this month is open: appeal once it is decided",
                           errors=[field_error("claim_id", "another claim of the period is open")],
                           claim_id=str(open_[0].id))
    await store.update_claim(session, row.id, status="submitted", decided_at=None,
                             rejected=int(row.rejected) - rest)
    return await read(session, row.id)

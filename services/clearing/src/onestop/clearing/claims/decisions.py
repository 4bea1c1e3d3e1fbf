"""A fund's decisions on a claim (审核), item by item over as many sittings as it needs.

Each leg item is decided once (an appealed one once more, on its appealed part: claims/appeals.py): approve
(all of it), deduct (part of it, with a reason) or reject (none of it, with a reason). Its pending
Dr claimed / Cr advance is posted for the approved part and the rest is posted Dr rejected / Cr advance with
the reason; the approved part moves Dr approved / Cr claimed. What a sitting approves is netted first against
the hospital's owed-back lines in the claim (Dr owed_back / Cr approved), then against the fund's prepayment
(Dr prepayment / Cr approved, 000 §3.4 预付金). The claim is `decided` when every leg item is, and
`clearing.claim.decided.v1` leaves through the outbox.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.claims.service import load, pending_of, read
from onestop.clearing.domain.accounts import AccountKey, Code, Fund, accounts_of
from onestop.clearing.domain.transfers import Transfer, post_pending, transfer_id
from onestop.clearing.store import books
from onestop.clearing.store import claims as store
from onestop.common.auth import Principal
from onestop.common.clock import now
from onestop.common.errors import Conflict, Forbidden, InvalidInput, field_error
from onestop.common.money import format_fen
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.clearing import ClaimDecided


@dataclass(frozen=True)
class Decision:
    settlement_id: str
    decision: str  # approve | deduct | reject
    approved_amount: int | None = None  # fen; deduct only
    reason: str | None = None


def approved_of(d: Decision, claimed: int, at: int) -> int:
    """The approved fen of one decision on a leg of `claimed` fen (`at`: its index, for the error's field)."""
    field = f"items[{at}]"
    if d.decision != "approve" and not (d.reason or "").strip():
        raise InvalidInput("a deduction or rejection needs its reason",
                           errors=[field_error(f"{field}.reason", "required for deduct and reject")])
    if d.decision == "approve":
        if d.approved_amount not in (None, claimed):
            raise InvalidInput("an approval approves the whole item; a part is a deduction",
                               errors=[field_error(f"{field}.approved_amount", "must equal the claimed amount")])
        return claimed
    if d.decision == "reject":
        return 0
    if d.approved_amount is None or not 0 < d.approved_amount < claimed:
        raise InvalidInput("a deduction approves part of the item",
                           errors=[field_error(f"{field}.approved_amount", "above 0 and below the claimed amount")])
    return d.approved_amount


def is_payer_of(principal: Principal, row: Any) -> bool:
    return principal.role is Role.payer and principal.payer == row.payer and principal.region_code == row.region_code


async def decide(runtime: Runtime, principal: Principal, session: AsyncSession, claim_id: str,
                 decisions: list[Decision]) -> dict[str, Any]:
    """Record a sitting's decisions; 403 for anyone but the claim's fund, 409 for an item decided before."""
    row = await load(session, claim_id)
    if not is_payer_of(principal, row):
        raise Forbidden("a claim is decided by a payer token of its own fund (payer and region)")
    fund, hospital = Fund(row.payer, row.region_code), row.hospital_code
    await books.open_and_lock(session, accounts_of(hospital, fund).values())
    row = await store.get(session, row.id, lock=True)
    if row.status != "submitted":
        raise Conflict(f"the claim is {row.status}", errors=[field_error("claim_id", f"the claim is {row.status}")])
    items = {i.settlement_id: i for i in await store.items(session, row.id) if i.kind == "leg"}
    seen: set[str] = set()
    sitting = uuid.uuid4().hex
    transfers: list[Transfer] = []
    approved_now = rejected_now = 0
    at = now()

    def key(code: Code) -> AccountKey:
        return AccountKey(hospital, fund, code)

    for n, d in enumerate(decisions):
        item = items.get(d.settlement_id)
        if item is None or d.settlement_id in seen:
            raise InvalidInput("not a leg of this claim, or named twice",
                               errors=[field_error(f"items[{n}].settlement_id", "not a leg of this claim")])
        seen.add(d.settlement_id)
        if item.decision is not None:
            raise Conflict("this item was decided already",
                           errors=[field_error(f"items[{n}].settlement_id", "decided already")])
        pending = pending_of(item, fund, hospital)
        before, origin = 0, f"decision:{row.id}"
        if item.appealed:  # the appealed part (claims/appeals.py): its own pending, decided once more
            before, origin = int(item.approved_before_appeal), f"appeal-decision:{row.id}"
            pending = replace(pending, id=item.appeal_transfer_id, amount=int(item.amount) - before)
        amount = approved_of(d, pending.amount, n)
        transfers += post_pending(pending,
                                  transfer_id=transfer_id(origin, fund, d.settlement_id), amount=amount,
                                  rest_to=key(Code.rejected),
                                  rest_id=transfer_id(origin, fund, f"{d.settlement_id}|rest"), reason=d.reason)
        if amount:
            transfers.append(Transfer(transfer_id(origin, fund, f"{d.settlement_id}|approved"), key(Code.approved),
                                      key(Code.claimed), amount, "approval", settlement_id=d.settlement_id))
        approved_now += amount
        rejected_now += pending.amount - amount
        await store.update_item(session, row.id, d.settlement_id, decision=d.decision, approved=before + amount,
                                reason=d.reason, decided_at=at)
    # netting: the hospital's owed-back lines first (its own debt to the fund), then the fund's prepayment
    owed_lines = -sum(int(i.amount) for i in await store.items(session, row.id) if i.kind == "owed_back")
    net_owed = min(owed_lines - int(row.owed_back_netted), approved_now)
    if net_owed > 0:
        transfers.append(Transfer(transfer_id(f"netting:{sitting}", fund, "owed_back"), key(Code.owed_back),
                                  key(Code.approved), net_owed, "owed_back_netting"))
    prepaid = await store.balance(session, key(Code.prepayment))
    net_pre = min(prepaid.credits_posted - prepaid.debits_posted, approved_now - max(net_owed, 0))
    if net_pre > 0:
        transfers.append(Transfer(transfer_id(f"netting:{sitting}", fund, "prepayment"), key(Code.prepayment),
                                  key(Code.approved), net_pre, "prepayment_netting"))
    await books.post(session, transfers)
    values: dict[str, Any] = {"approved": int(row.approved) + approved_now,
                              "rejected": int(row.rejected) + rejected_now,
                              "owed_back_netted": int(row.owed_back_netted) + max(net_owed, 0),
                              "prepayment_netted": int(row.prepayment_netted) + max(net_pre, 0)}
    if all(i.decision is not None or i.settlement_id in seen for i in items.values()):
        values.update(status="decided", decided_at=at)
        for s in (i for i in await store.items(session, row.id) if i.kind == "owed_back"):
            await store.update_item(session, row.id, s.settlement_id, decision="netted", decided_at=at)
    await store.update_claim(session, row.id, **values)
    if values.get("status") == "decided":
        await runtime.outbox.add(session, ClaimDecided(
            claim_id=str(row.id), hospital_code=hospital, payer=fund.payer, region_code=fund.region_code,
            setlym=row.setlym, approved=format_fen(values["approved"]), rejected=format_fen(values["rejected"]),
            owed_back_netted=format_fen(values["owed_back_netted"]),
            prepayment_netted=format_fen(values["prepayment_netted"]), decided_at=at))
    return await read(session, row.id)

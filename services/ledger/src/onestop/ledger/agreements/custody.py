"""Document custody (证件收存): the cards and copies the hospital keeps at signing (000 §2.2 设专柜妥善收存; 001
三(一) 医院只收存社会保障卡（参保证）和有效身份证明复印件) and every hand-over after, kept as history.

000 §2.5 returns them once the patient's share is paid (结清费用后，医疗机构即时归还收存的患者相关证件资料): the
payments use case calls `return_documents` inside its own transaction; a desk hands them back through
`POST /v1/agreements/{id}/documents:return`. Who received them is a relation, never a name; who recorded it is
the token subject.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import now
from onestop.common.errors import Conflict, InvalidInput, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger_agreements import DocumentsReturned
from onestop.ledger.agreements.service import check_scope, get_row, read
from onestop.ledger.store import agreements

_CLOCK_SKEW = timedelta(minutes=5)  # a desk's clock a little ahead of ours is not a hand-over in the future


async def return_documents(runtime: Runtime, session: AsyncSession, agreement_id: str, *, kinds: list[str],
                           returned_to: str, actor: str, returned_at: datetime | None = None) -> list[str]:
    """Record the hand-over of `kinds` (to `returned_to`, a relation) in the caller's transaction, with its event;
    the kinds the hospital still holds after it. A kind not held now is a 409 naming it, nothing written."""
    row = await get_row(session, agreement_id, lock="update")  # two desks returning at once: one wins
    kinds = list(dict.fromkeys(kinds))
    if not kinds:
        raise InvalidInput("name the documents handed back", errors=[field_error("documents", "empty")])
    at = returned_at or now()
    if at > now() + _CLOCK_SKEW:
        raise InvalidInput("a hand-over is not recorded ahead of time",
                           errors=[field_error("returned_at", "in the future")])
    if at < row["signed_at"]:
        raise InvalidInput("the documents were kept at signing: they are returned after it",
                           errors=[field_error("returned_at", "before the agreement was signed")])
    held = await agreements.documents_held(session, agreement_id)
    not_held = [k for k in kinds if k not in held]
    if not_held:
        raise Conflict("the hospital does not hold these documents now", not_held=not_held,
                       errors=[field_error("documents", f"not held: {', '.join(not_held)}")])
    await agreements.add_returns(session, agreement_id, kinds, returned_to=returned_to, actor=actor, at=at)
    await runtime.outbox.add(session, DocumentsReturned(
        agreement_id=agreement_id, person_ref=row["person_ref"], region_code=row["insurance_region_code"],
        hospital_code=row["hospital_code"], documents=kinds, returned_to=returned_to, returned_at=at))
    return [k for k in held if k not in kinds]


async def hand_back(runtime: Runtime, principal: Principal, session: AsyncSession, agreement_id: str, *,
                    kinds: list[str], returned_to: str, returned_at: datetime | None) -> tuple[int, dict[str, Any]]:
    """The desk's hand-over: the hospital that holds them (where the agreement was signed) or an operator."""
    require_role(principal, Role.hospital, Role.operator)
    check_scope(principal, await get_row(session, agreement_id), change=True)
    await return_documents(runtime, session, agreement_id, kinds=kinds, returned_to=returned_to,
                           actor=principal.subject, returned_at=returned_at)
    return 200, await read(session, agreement_id)


async def return_when_due(runtime: Runtime, session: AsyncSession, stay: dict[str, Any], *, returned_on: str | None,
                          event: str, actor: str, to: str | None = None) -> list[str]:
    """The region's policy (rules' operations `documents.returned_on`: `payment` — 000 §2.5 结清费用后即时归还,
    001 三(二); or `signed_plan`) says the documents go back on `event`: hand back every card still held, to the
    signer's relation unless `to` is given; the kinds returned ([] when the policy says otherwise or none is held)."""
    if returned_on != event:
        return []
    held = await agreements.documents_held(session, stay["agreement_id"])
    if not held:
        return []
    agreement = await get_row(session, stay["agreement_id"])
    await return_documents(runtime, session, stay["agreement_id"], kinds=held,
                           returned_to=to or agreement["signer_relation"], actor=actor)
    return held

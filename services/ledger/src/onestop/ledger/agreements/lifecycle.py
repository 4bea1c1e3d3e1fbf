"""When a treat-first agreement stops admitting, by the region's rule (treat_first.agreement_ends, kept on the
agreement at signing so a later policy does not rewrite a signed paper):

- `with_stay`: it ends with the stay it was signed for, in the same transaction as that stay's final settlement
  (or its cancellation), once no other stay under it is open (a mother's newborns are admitted under hers). A
  reversal of that settlement reopens the stay, and with it the agreement: the stay is settled again under it.
- `period` (启东 004: 只需一次签约): it admits up to `ends_on`; used after that it is marked `expired` and refused.
- whatever its term, identity blacklisting the person ends it (`blacklisted`, events/credit.py): a city-wide
  agreement then admits at no hospital. Lifting the blacklisting does not revive it: the person signs again.
Every end leaves `ledger.agreement.ended.v1` through the outbox.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.clock import now
from onestop.common.errors import Conflict, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.events.ledger_agreements import AgreementEnded, AgreementReopened
from onestop.ledger.store import agreements, stays


def ended(agreement: dict[str, Any]) -> Conflict:
    """The refusal of an admission under an agreement that no longer admits, naming it and why."""
    reason = agreement["end_reason"] or agreement["state"]
    return Conflict(f"the agreement has ended ({reason}): sign a new one", agreement_id=agreement["agreement_id"],
                    end_reason=reason, errors=[field_error("agreement_id", f"ended: {reason}")])


def is_past_its_period(agreement: dict[str, Any], on: date) -> bool:
    return agreement["ends"] == "period" and agreement["ends_on"] is not None and on > agreement["ends_on"]


async def check_admits(runtime: Runtime, agreement: dict[str, Any], on: date) -> None:
    """Refuse an admission on `on` under an agreement that has ended or whose period is over (409).

    An agreement found past its period is marked `expired` in a transaction of its own, committed before the
    refusal: the admission's transaction rolls back, the expiry must not. Call it before the admission locks the
    agreement's row (the expiry takes that row)."""
    if agreement["state"] != "active":
        raise ended(agreement)
    if is_past_its_period(agreement, on):
        async with runtime.db.transaction() as session:
            current = await agreements.get(session, agreement["agreement_id"], lock="update")
            assert current is not None
            if current["state"] == "active":
                await _end(runtime, session, current, "expired", now())
        raise ended({**agreement, "state": "ended", "end_reason": "expired"})


async def end_with_stay(runtime: Runtime, session: AsyncSession, stay: dict[str, Any], *, reason: str,
                        at: datetime) -> None:
    """In the transaction closing a stay (its final settlement: `with_stay`; its cancellation: `cancelled`): end a
    with-stay agreement unless another stay under it is still open. Other terms, and ended agreements, stay."""
    agreement = await agreements.get(session, stay["agreement_id"], lock="update")
    if agreement is None or agreement["state"] != "active" or agreement["ends"] != "with_stay":
        return
    if await stays.others_open_under(session, agreement["agreement_id"], stay["stay_id"]):
        return
    await _end(runtime, session, agreement, reason, at, stay_id=stay["stay_id"])


async def reopen_with_stay(runtime: Runtime, session: AsyncSession, stay: dict[str, Any], at: datetime) -> None:
    """In the reversal's transaction: the agreement that ended with this stay's settlement admits again. One that
    ended otherwise (blacklisted, expired) stays ended; the reopened stay is still settled (the snapshot governs)."""
    agreement = await agreements.get(session, stay["agreement_id"], lock="update")
    if agreement is None or agreement["state"] != "ended" or agreement["end_reason"] != "with_stay" \
            or agreement["ended_with_stay_id"] != stay["stay_id"]:
        return
    await agreements.reopen(session, agreement["agreement_id"])
    await runtime.outbox.add(session, AgreementReopened(
        agreement_id=agreement["agreement_id"], person_ref=agreement["person_ref"],
        region_code=agreement["insurance_region_code"], hospital_code=agreement["hospital_code"],
        stay_id=stay["stay_id"], reopened_at=at))


async def revoke_person(runtime: Runtime, session: AsyncSession, person_ref: str, at: datetime) -> int:
    """Identity blacklisted the person: every active agreement of theirs ends (`blacklisted`); how many did."""
    active = await agreements.active_of_person(session, person_ref)
    for agreement in active:
        await _end(runtime, session, agreement, "blacklisted", at)
    return len(active)


async def _end(runtime: Runtime, session: AsyncSession, agreement: dict[str, Any], reason: str, at: datetime,
               stay_id: str | None = None) -> None:
    await agreements.end(session, agreement["agreement_id"], reason=reason, at=at, stay_id=stay_id)
    await runtime.outbox.add(session, AgreementEnded(
        agreement_id=agreement["agreement_id"], person_ref=agreement["person_ref"],
        region_code=agreement["insurance_region_code"], hospital_code=agreement["hospital_code"],
        reason=reason, stay_id=stay_id, ended_at=at))  # type: ignore[arg-type]

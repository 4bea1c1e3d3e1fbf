"""Deposit-free admission (免押金入院) under an agreement, reading a stay, and cancelling it (NHSA 2404).

Admission asks identity again as of the admission date and snapshots its answer and the quote's person facts on
the stay; the hospital level comes from rules' registry. One open stay per person (and newborn) per hospital.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import as_shanghai, now
from onestop.common.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import StayAdmitted, StayCancelled
from onestop.contracts.money import format_fen
from onestop.contracts.regions import region_matches
from onestop.ledger.agreements import lifecycle
from onestop.ledger.agreements.service import designated, eligibility_snapshot
from onestop.ledger.clients import IdentityClient
from onestop.ledger.domain.sealing import Sealer, Unsealable
from onestop.ledger.problems import NotEligible
from onestop.ledger.store import agreements, audit, stays


async def ask_identity(runtime: Runtime, agreement: dict[str, Any], hospital_code: str, on: date) -> Any:
    """identity's eligibility decision for the agreement's person as of a date (the ledger's service token)."""
    sealer: Sealer = runtime.extras["sealer"]
    try:
        id_number = sealer.open(agreement["id_sealed"], agreement["agreement_id"])
    except Unsealable:
        raise Conflict("the agreement can no longer be checked with identity: sign it again") from None
    identity: IdentityClient = runtime.extras["identity"]
    return await identity.eligibility(id_number, agreement["region_code"], hospital_code, on)


def _usable_at(principal: Principal, agreement: dict[str, Any], hospital: dict[str, Any]) -> None:
    """An agreement admits at its own hospital, or under a wider scope at every (public) hospital of it."""
    if hospital["hospital_code"] == agreement["hospital_code"]:
        return
    if agreement["scope"] == "hospital":
        if principal.role is Role.hospital:  # another hospital's agreement is not even said to exist
            raise NotFound("no such agreement")
        raise InvalidInput("this agreement admits only at the hospital where it was signed",
                           errors=[field_error("agreement_id", "signed at another hospital")])
    if not region_matches(agreement["scope"], agreement["hospital_region_code"], hospital["region_code"]) or (
            agreement["public_only"] and not hospital["public"]):
        raise InvalidInput("this hospital is outside the agreement's scope",
                           errors=[field_error("hospital_code", f"outside the agreement's {agreement['scope']}")])


async def admit(runtime: Runtime, principal: Principal, session: AsyncSession, *, agreement_id: str,
                hospital_code: str, admitted_at: datetime, hospital_level: str | None, kind: str, chronic: bool,
                disease_code: str | None, expected_cost_fen: int | None, newborn: int | None
                ) -> tuple[int, dict[str, Any]]:
    require_role(principal, Role.hospital, Role.operator)
    if not principal.can_see_hospital(hospital_code):
        raise Forbidden("an admission is made at your own hospital")
    agreement = await agreements.get(session, agreement_id)
    if agreement is None:
        raise NotFound("no such agreement")
    on = as_shanghai(admitted_at).date()
    hospital = await designated(runtime.extras["rules"], agreement["region_code"], hospital_code, on)
    _usable_at(principal, agreement, hospital)
    await lifecycle.check_admits(runtime, agreement, on)  # before the row is locked: an expiry commits on its own
    if hospital_level is not None and hospital_level != hospital["level"]:
        raise InvalidInput("the hospital level disagrees with the registry",
                           errors=[field_error("hospital_level", f"the registry says {hospital['level']}")])
    answer = await ask_identity(runtime, agreement, hospital_code, on)
    if not answer.eligible or answer.person is None or answer.insurance is None:
        raise NotEligible.of(answer)
    if answer.person_id != agreement["person_ref"]:
        raise Conflict("identity now knows this agreement's person under another id; sign the agreement again")
    number = newborn or 0
    facts = answer.person.model_dump(mode="json")
    if number:
        facts["age"] = 0  # a newborn is its own patient, admitted under its mother's agreement and categories
    # held to commit: the agreement cannot end (its stay settled, its person blacklisted) under this admission
    locked = await agreements.get(session, agreement_id, lock="share")
    if locked is None or locked["state"] != "active":
        raise lifecycle.ended(locked or agreement)
    stay_id = str(uuid.uuid4())
    row = {"stay_id": stay_id, "agreement_id": agreement_id, "person_ref": agreement["person_ref"],
           "newborn": number, "insurance_region_code": answer.insurance.region_code, "hospital_code": hospital_code,
           "hospital_region_code": hospital["region_code"], "hospital_level": hospital["level"], "kind": kind,
           "chronic": chronic, "disease_code": disease_code, "expected_cost_fen": expected_cost_fen,
           "admitted_at": admitted_at, "person_facts": facts, "eligibility": eligibility_snapshot(answer)}
    if not await stays.create(session, row):
        open_id = await stays.open_stay_of(session, agreement["person_ref"], number, hospital_code)
        raise Conflict("this person already has an open stay at this hospital", open_stay_id=open_id)
    await runtime.outbox.add(session, StayAdmitted(
        stay_id=stay_id, agreement_id=agreement_id, person_ref=agreement["person_ref"], newborn=number or None,
        region_code=answer.insurance.region_code, hospital_code=hospital_code,
        hospital_region_code=hospital["region_code"], hospital_level=hospital["level"], kind=kind,  # type: ignore[arg-type]
        categories=[c.value for c in answer.person.categories], admitted_at=admitted_at))
    return 201, shape(await get_row(session, stay_id))


async def get_row(session: AsyncSession, stay_id: str, *, for_update: bool = False) -> dict[str, Any]:
    try:
        uuid.UUID(stay_id)
    except ValueError:
        raise NotFound("no such stay") from None
    row = await stays.get(session, stay_id, for_update=for_update)
    if row is None:
        raise NotFound("no such stay")
    return row


def check_scope(principal: Principal, row: dict[str, Any], *, change: bool = False) -> None:
    """A hospital sees its own stays, a bureau those of its region (insured or treated there), an operator all;
    only the hospital (or an operator) changes one. Out of scope is a 404: a stay id says nothing of others."""
    if principal.role is Role.operator or principal.can_see_hospital(row["hospital_code"]):
        return
    if not change and principal.role is Role.bureau and (
            principal.can_see_region(row["insurance_region_code"])
            or principal.can_see_region(row["hospital_region_code"])):
        return
    raise NotFound("no such stay")


async def audited_read(session: AsyncSession, principal: Principal, stay_id: str, endpoint: str, *,
                       detail: str | None = None) -> dict[str, Any]:
    """The stay, if the caller may read it, and the access-audit row of that read (one INSERT, in the read's
    transaction): every read of a stay or of what it holds goes through here. `endpoint` is the route."""
    row = await get_row(session, stay_id)
    check_scope(principal, row)
    await audit.record(session, principal, endpoint, stay_id=row["stay_id"], person_ref=row["person_ref"],
                       detail=detail)
    return row


async def read(session: AsyncSession, principal: Principal, stay_id: str) -> dict[str, Any]:
    return shape(await audited_read(session, principal, stay_id, "GET /v1/stays/{stay_id}"))


async def cancel(runtime: Runtime, principal: Principal, session: AsyncSession, stay_id: str,
                 reason: str) -> tuple[int, dict[str, Any]]:
    require_role(principal, Role.hospital, Role.operator)
    row = await get_row(session, stay_id, for_update=True)
    check_scope(principal, row, change=True)
    if row["state"] != "open":
        raise Conflict(f"the stay is {row['state']}")
    if row["settled_through"] is not None:  # NHSA 2404 undoes an admission only while nothing is settled
        raise Conflict("a part of this stay is settled: reverse its settlements first")
    at = now()
    await stays.cancel(session, stay_id, reason, at)
    await lifecycle.end_with_stay(runtime, session, row, reason="cancelled", at=at)
    await runtime.outbox.add(session, StayCancelled(
        stay_id=stay_id, person_ref=row["person_ref"], region_code=row["insurance_region_code"],
        hospital_code=row["hospital_code"], cancelled_at=at))
    return 200, shape(await get_row(session, stay_id))


def shape(row: dict[str, Any]) -> dict[str, Any]:
    eligibility = row["eligibility"]
    return {
        "stay_id": row["stay_id"], "agreement_id": row["agreement_id"], "person_ref": row["person_ref"],
        "newborn": row["newborn"] or None, "state": row["state"], "deposit": "0.00",
        "hospital_code": row["hospital_code"], "hospital_region_code": row["hospital_region_code"],
        "hospital_level": row["hospital_level"], "region_code": row["insurance_region_code"], "kind": row["kind"],
        "chronic": row["chronic"], "disease_code": row["disease_code"],
        "expected_cost": None if row["expected_cost_fen"] is None else format_fen(row["expected_cost_fen"]),
        "admitted_at": row["admitted_at"].isoformat(), "person": row["person_facts"],
        "eligibility": {"date": eligibility.get("date"), "categories": eligibility.get("categories", []),
                        "policy": eligibility.get("policy"), "direct_settlement_allowed":
                            eligibility.get("direct_settlement_allowed")},
        "settled_through": row["settled_through"].isoformat() if row["settled_through"] else None,
        "discharged_at": row["discharged_at"].isoformat() if row["discharged_at"] else None,
        "discharge_way": row["discharge_way"],
        "cancel_reason": row["cancel_reason"],
        "cancelled_at": row["cancelled_at"].isoformat() if row["cancelled_at"] else None,
    }

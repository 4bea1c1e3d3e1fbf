"""Signing the treat-first agreement (先诊疗后付费协议书) and keeping the cards the hospital holds.

The person is asked of identity (eligibility as of today, Asia/Shanghai, with the ledger's service token)
and known afterwards only by identity's person_id; the signer by their relation (the name is not stored:
the signed paper is the hospital's, the ledger needs only who signed in which capacity). The scope comes
from the region's treat-first rule: one hospital, or every (public) hospital of the city (启东, 004).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import now, today
from onestop.common.errors import Forbidden, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import AgreementSigned
from onestop.ledger.clients import IdentityClient, RulesClient
from onestop.ledger.domain.sealing import Sealer
from onestop.ledger.problems import NotEligible
from onestop.ledger.store import agreements, audit, stays

# What identity's answer carries that the ledger does not keep: the masked number and the birth year identify
# more than the stay needs.
_NOT_KEPT = {"id_number_masked", "birth_year"}


def eligibility_snapshot(answer: Any) -> dict[str, Any]:
    return {k: v for k, v in answer.model_dump(mode="json", by_alias=True).items() if k not in _NOT_KEPT}


async def designated(rules: RulesClient, region_code: str, hospital_code: str, on: Any) -> dict[str, Any]:
    """The hospital as rules' registry has it on the date, or a 422 naming the field."""
    hospitals = await rules.hospitals(region_code, on)
    if hospitals is None:
        raise InvalidInput("no treat-first policy is in force in this region",
                           errors=[field_error("region_code", "no policy in force on " + on.isoformat())])
    hospital = hospitals.get(hospital_code)
    if hospital is None:
        raise InvalidInput("not a designated hospital of the region",
                           errors=[field_error("hospital_code", "unknown in the region's hospital registry")])
    return hospital


async def sign(runtime: Runtime, principal: Principal, session: AsyncSession, *, id_number: str, region_code: str,
               hospital_code: str, relation: str, documents: list[str]) -> tuple[int, dict[str, Any]]:
    require_role(principal, Role.hospital, Role.operator)
    if not principal.can_see_hospital(hospital_code):
        raise Forbidden("an agreement is signed at your own hospital")
    rules: RulesClient = runtime.extras["rules"]
    identity: IdentityClient = runtime.extras["identity"]
    on = today()
    hospital = await designated(rules, region_code, hospital_code, on)
    rule = await rules.treat_first(region_code, on)
    if rule is None:
        raise InvalidInput("no treat-first rule is in force in this region",
                           errors=[field_error("region_code", "no treat-first rule in force")])
    answer = await identity.eligibility(id_number, region_code, hospital_code, on)
    if not answer.eligible or answer.person_id is None or answer.insurance is None:
        raise NotEligible.of(answer)
    agreement_id, at = str(uuid.uuid4()), now()
    sealer: Sealer = runtime.extras["sealer"]
    row = {"agreement_id": agreement_id, "person_ref": answer.person_id,
           "id_sealed": sealer.seal(id_number, agreement_id), "region_code": region_code,
           "insurance_region_code": answer.insurance.region_code, "hospital_code": hospital_code,
           "hospital_region_code": hospital["region_code"], "scope": rule.agreement_scope,
           "public_only": rule.public_hospitals_only, "signer_relation": relation, "signed_by": principal.subject,
           "signed_at": at, "eligibility": eligibility_snapshot(answer), "ends": rule.agreement_ends,
           # a period counts the signing day as its first (启东 004; 365 days illustrative in its policy)
           "ends_on": on + timedelta(days=rule.agreement_period_days - 1) if rule.agreement_period_days else None}
    kept = list(dict.fromkeys(documents))
    await agreements.create(session, row, kept, principal.subject, at)
    await runtime.outbox.add(session, AgreementSigned(
        agreement_id=agreement_id, person_ref=answer.person_id, region_code=answer.insurance.region_code,
        hospital_code=hospital_code, hospital_region_code=hospital["region_code"], scope=rule.agreement_scope,
        signer_relation=relation, documents=kept, signed_at=at))
    return 201, await read(session, agreement_id)


def check_scope(principal: Principal, row: dict[str, Any], *, used_here: bool = False, change: bool = False) -> None:
    """The hospital that signed it (and, for a wider scope, a hospital that admitted under it: `used_here`) sees it,
    a bureau of its regions reads it, an operator all; only the signing hospital or an operator changes it. Out of
    scope is a 404: an agreement id says nothing of others."""
    if principal.role is Role.operator or principal.can_see_hospital(row["hospital_code"]):
        return
    if not change and principal.role is Role.hospital and used_here:
        return
    if not change and principal.role is Role.bureau and any(
            principal.can_see_region(row[k]) for k in ("insurance_region_code", "hospital_region_code")):
        return
    raise NotFound("no such agreement")


async def get_row(session: AsyncSession, agreement_id: str, *, lock: agreements.Lock = None) -> dict[str, Any]:
    try:
        uuid.UUID(agreement_id)
    except ValueError:
        raise NotFound("no such agreement") from None
    row = await agreements.get(session, agreement_id, lock=lock)
    if row is None:
        raise NotFound("no such agreement")
    return row


async def view(principal: Principal, session: AsyncSession, agreement_id: str) -> dict[str, Any]:
    """GET /v1/agreements/{id}: its state, its end, the documents held now and the custody history."""
    require_role(principal, Role.hospital, Role.bureau, Role.operator)
    row = await get_row(session, agreement_id)
    used_here = (principal.role is Role.hospital and row["scope"] != "hospital" and principal.hospital_code is not None
                 and await stays.admitted_under_at(session, agreement_id, principal.hospital_code))
    check_scope(principal, row, used_here=used_here)
    # the agreement shows the person's categories: its reads are in the access audit, as a stay's are
    await audit.record(session, principal, "GET /v1/agreements/{agreement_id}", person_ref=row["person_ref"],
                       detail=row["agreement_id"])
    return await read(session, agreement_id)


async def read(session: AsyncSession, agreement_id: str) -> dict[str, Any]:
    row = await get_row(session, agreement_id)
    history = await agreements.custody(session, agreement_id)
    return {
        "agreement_id": row["agreement_id"], "person_ref": row["person_ref"], "scope": row["scope"],
        "public_hospitals_only": row["public_only"], "state": row["state"], "region_code": row["region_code"],
        "insurance_region_code": row["insurance_region_code"], "hospital_code": row["hospital_code"],
        "hospital_region_code": row["hospital_region_code"], "signer": {"relation": row["signer_relation"]},
        "documents": agreements.held(history),
        "categories": row["eligibility"].get("categories", []), "signed_at": row["signed_at"].isoformat(),
        "ends": row["ends"], "ends_on": row["ends_on"].isoformat() if row["ends_on"] else None,
        "end_reason": row["end_reason"], "ended_at": row["ended_at"].isoformat() if row["ended_at"] else None,
        "ended_with_stay_id": row["ended_with_stay_id"],
        "custody": [{"kind": h["kind"], "action": h["action"], "at": h["at"].isoformat(), "by": h["actor"],
                     "returned_to": h["returned_to"]} for h in history],
    }

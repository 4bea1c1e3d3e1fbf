"""POST /v1/stays (deposit-free admission, DESIGN §9.1), GET /v1/stays/{id}, POST /v1/stays/{id}/cancel."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.common.pagination import PageDep
from onestop.contracts.enums import HospitalLevel, StayKind
from onestop.contracts.money import NonNegativeYuan
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.stays import listing, service

router = APIRouter(prefix="/v1", tags=["stays"])


class StayRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_id: UUID
    hospital_code: str = Field(min_length=1, max_length=32)
    admitted_at: AwareDatetime = Field(description="with its zone; its Asia/Shanghai date is the eligibility date")
    hospital_level: HospitalLevel | None = Field(None, description="if sent, must agree with rules' registry")
    kind: StayKind = StayKind.inpatient
    chronic: bool = Field(False, description="an outpatient visit for chronic or special-disease medication")
    disease_code: str | None = Field(None, min_length=1, max_length=32, description="admission diagnosis")
    expected_cost: NonNegativeYuan | None = Field(None, description="what the hospital told the patient (000 §2.4)")
    newborn: int | None = Field(None, ge=1, le=9, description="a newborn under its mother's agreement: 1, 2 …")


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


@router.post("/stays", status_code=201, summary="Deposit-free admission under an agreement",
             description="Hospital token (its own hospital; another's: 403) or operator. Eligibility is asked again "
                         "as of the admission date and snapshotted with the person facts a quote needs. One open "
                         "stay per person per hospital (409 `open_stay_id`).",
             responses=problem_responses(403, 404, 409, 422, 503))
async def admit(body: StayRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.admit(
            runtime, principal, session, agreement_id=str(body.agreement_id), hospital_code=body.hospital_code,
            admitted_at=body.admitted_at, hospital_level=body.hospital_level.value if body.hospital_level else None,
            kind=body.kind.value, chronic=body.chronic, disease_code=body.disease_code,
            expected_cost_fen=body.expected_cost, newborn=body.newborn)

    fingerprint = request_hash("POST", "/v1/stays", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.get("/stays", summary="Stays, by admission time, with a cursor",
            description="A hospital token lists its own hospital's, a bureau its region's (insured or treated "
                        "there; a province or city code takes its counties), an operator all; asking outside the "
                        "scope is a 403. `admitted_from`/`admitted_to` are Asia/Shanghai dates, both inclusive. "
                        "Bad parameters: 422 naming them.",
            responses=problem_responses(403, 422))
async def list_stays(runtime: RuntimeDep, principal: CurrentPrincipal, page: PageDep,
                     hospital_code: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
                     region_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
                     state: Literal["open", "settled", "cancelled"] | None = None,
                     admitted_from: date | None = None, admitted_to: date | None = None) -> Any:
    return await listing.listing(runtime, principal, listing.StayQuery(
        hospital_code=hospital_code, region_code=region_code, state=state, admitted_from=admitted_from,
        admitted_to=admitted_to), page)


@router.get("/stays/{stay_id}", summary="A stay (its hospital, a bureau of its region, operator)",
            responses=problem_responses(404))
async def get_stay(stay_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    async with runtime.db.transaction() as session:
        return await service.read(session, principal, stay_id)


@router.post("/stays/{stay_id}/cancel", summary="Undo an admission that has no settlement (NHSA 2404)",
             responses=problem_responses(403, 404, 409, 422))
async def cancel(stay_id: str, body: CancelRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.cancel(runtime, principal, session, stay_id, body.reason)

    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/cancel", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)

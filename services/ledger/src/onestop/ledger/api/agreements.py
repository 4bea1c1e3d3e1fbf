"""POST /v1/agreements: the treat-first agreement (DESIGN §9.1), signed by the patient or a guardian; GET one with
its end and its document custody history; POST …/documents:return records a hand-over."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.ledger.agreements import custody, service
from onestop.ledger.api.deps import RuntimeDep

router = APIRouter(prefix="/v1", tags=["agreements"])

Relation = Literal["self", "spouse", "parent", "child", "guardian", "other"]
Document = Literal["insurance_card", "id_copy", "poverty_card"]


class Signer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="on the signed paper; the ledger does not store it")
    relation: Relation


class AgreementRequest(BaseModel):
    """Who is admitted (by ID number, sent only in this body), where, and who signs."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(min_length=1, max_length=32)
    region_code: str = Field(pattern=r"^\d{6}$", description="the person's insurance region (参保地)")
    hospital_code: str = Field(min_length=1, max_length=32)
    signer: Signer
    documents: list[Document] = Field(default_factory=list, max_length=3,
                                      description="cards and copies the hospital keeps (document custody; "
                                                  "poverty_card: 健康扶贫卡)")


@router.post("/agreements", status_code=201, summary="Sign the treat-first agreement (先诊疗后付费协议书)",
             description="Hospital token (its own hospital) or operator. Eligibility is asked of identity as of "
                         "today (Asia/Shanghai); not eligible: 422 `not-eligible` with identity's reason codes "
                         "and sentences. `scope` is the region's rule: `hospital` or a region (启东: `city`).",
             responses=problem_responses(403, 404, 409, 422, 503))
async def sign(body: AgreementRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
               idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.sign(runtime, principal, session, id_number=body.id_number,
                                  region_code=body.region_code, hospital_code=body.hospital_code,
                                  relation=body.signer.relation, documents=list(body.documents))

    fingerprint = request_hash("POST", "/v1/agreements", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


class DocumentsReturn(BaseModel):
    """A hand-over of kept documents: which, to whom (by relation, never a name), when."""

    model_config = ConfigDict(extra="forbid")

    documents: list[Document] = Field(min_length=1, max_length=3)
    returned_to: Relation = Field(description="the receiver's relation to the patient")
    returned_at: AwareDatetime | None = Field(None, description="with its zone; now when left out")


@router.get("/agreements/{agreement_id}", summary="An agreement: its state, its end and its documents",
            description="The signing hospital (and, for a city-wide agreement, a hospital that admitted under it), "
                        "a bureau of its regions, or an operator. `documents`: held now; `custody`: every "
                        "keeping and hand-over. `end_reason`: with_stay | cancelled | expired | blacklisted.",
            responses=problem_responses(403, 404))
async def read(agreement_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    async with runtime.db.transaction() as session:
        return await service.view(principal, session, agreement_id)


@router.post("/agreements/{agreement_id}/documents:return", summary="Hand kept documents back (证件归还)",
             description="The hospital of the agreement or an operator. A document not held now: 409 naming it "
                         "(`not_held`). Answers the agreement as GET does.",
             responses=problem_responses(403, 404, 409, 422))
async def return_documents(agreement_id: str, body: DocumentsReturn, runtime: RuntimeDep,
                           principal: CurrentPrincipal, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    returned_at: datetime | None = body.returned_at

    async def work(session):  # type: ignore[no-untyped-def]
        return await custody.hand_back(runtime, principal, session, agreement_id, kinds=list(body.documents),
                                       returned_to=body.returned_to, returned_at=returned_at)

    fingerprint = request_hash("POST", f"/v1/agreements/{agreement_id}/documents:return", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)

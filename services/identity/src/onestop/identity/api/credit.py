"""Credit cases (诚信黑名单): open, decide after the household visit, lift."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.common.ratelimit import RateLimited
from onestop.contracts.enums import CreditReason
from onestop.identity.api.deps import RuntimeDep
from onestop.identity.credit import service

router = APIRouter(prefix="/v1", tags=["credit"], dependencies=[RateLimited])


class CaseOpen(BaseModel):
    """A suspected malicious default reported by an operator."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(max_length=32)
    region_code: str = Field(max_length=6, description="the region where the default happened")
    reason: str = Field(min_length=1, max_length=1000)


class CaseDecision(BaseModel):
    """The operator's decision after the household visit (000 §3.3)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["blacklist", "dismiss"]
    reason: str = Field(min_length=1, max_length=1000, description="the operator's words (internal, never in the feed)")
    reason_code: CreditReason = Field(CreditReason.malicious_default,
                                      description="what the credit feed says of a blacklisting (004: 恶意逃费)")
    household_visit_on: date | None = Field(None, description="required to blacklist")


class CaseLift(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, description="the operator's words (internal, never in the feed)")
    reason_code: CreditReason = Field(CreditReason.other, description="what the credit feed says of the lift")


@router.post("/credit-cases", status_code=201, summary="Open a suspected malicious-default case",
             responses=problem_responses(404))
async def open_case(body: CaseOpen, runtime: RuntimeDep, principal: CurrentPrincipal,
                    idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.open_by_operator(runtime, principal, session, id_number=body.id_number,
                                              region_code=body.region_code, reason=body.reason)

    fingerprint = request_hash("POST", "/v1/credit-cases", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.post("/credit-cases/{case_id}/decision", summary="Blacklist or dismiss, after the household visit")
async def decide(case_id: str, body: CaseDecision, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.decide_case(runtime, principal, session, case_id, decision=body.decision,
                                         reason=body.reason, household_visit_on=body.household_visit_on,
                                         reason_code=body.reason_code)

    fingerprint = request_hash("POST", f"/v1/credit-cases/{case_id}/decision", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.post("/credit-cases/{case_id}/lift", summary="Lift a blacklisting (e.g. after repayment)")
async def lift(case_id: str, body: CaseLift, runtime: RuntimeDep, principal: CurrentPrincipal,
               idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.lift_case(runtime, principal, session, case_id, reason=body.reason,
                                       reason_code=body.reason_code)

    fingerprint = request_hash("POST", f"/v1/credit-cases/{case_id}/lift", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.get("/credit-cases/{case_id}", summary="A credit case and its history")
async def get_case(case_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return await service.get_case(runtime, principal, case_id)


@router.get("/credit-feed/{case_id}/person",
            summary="Who a credit-feed entry names: ID number and name (credit_feed role; audited)")
async def get_feed_person(case_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return await service.resolve_for_feed(runtime, principal, case_id)

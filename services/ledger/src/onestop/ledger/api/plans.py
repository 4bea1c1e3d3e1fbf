"""The repayment plan (DESIGN §9.1 `POST`/`GET /v1/stays/{id}/repayment-plan`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.contracts.money import PositiveYuan
from onestop.ledger.api.agreements import Signer
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.receivables import plans as service

router = APIRouter(prefix="/v1", tags=["repayment plans"])


class InstalmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_date: date
    amount: PositiveYuan


class PlanRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instalments: list[InstalmentIn] = Field(min_length=1, max_length=60, description="in due-date order; they "
                                                                                     "add up to what is owed")
    signer: Signer = Field(description="the patient or a guardian; the name is on the paper, not stored")
    replaces_plan_id: UUID | None = Field(None, description="a renegotiated plan (after a home visit) names the "
                                                            "active one it replaces, which is kept as history")


@router.post("/stays/{stay_id}/repayment-plan", status_code=201, summary="Sign a deferred / instalment plan "
             "(延期、分期还款协议)",
             description="Hospital token of the stay's hospital, or operator, after the settlement. The instalments "
                         "add up to what is owed (`owed` of the stay's payments), their dates ascend, none before "
                         "the settlement date or in the past (422 naming each). A stay with an active plan: 409 "
                         "naming it, unless `replaces_plan_id` names it. `ledger.repayment_plan.signed.v1`.",
             responses=problem_responses(404, 409, 422))
async def sign(stay_id: str, body: PlanRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
               idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.sign(runtime, principal, session, stay_id,
                                  instalments=[(x.due_date, x.amount) for x in body.instalments],
                                  relation=body.signer.relation,
                                  replaces=str(body.replaces_plan_id) if body.replaces_plan_id else None)

    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/repayment-plan", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.get("/stays/{stay_id}/repayment-plan", summary="The stay's plan, each instalment's status, its history",
            description="`status` of each instalment as of `as_of` (default today, Asia/Shanghai): `paid`, `due` "
                        "or `overdue` (its date passed with something unpaid); payments pay the oldest first.",
            responses=problem_responses(404))
async def read(stay_id: UUID, runtime: RuntimeDep, principal: CurrentPrincipal,
               as_of: Annotated[date | None, Query()] = None) -> Any:
    async with runtime.db.transaction() as session:
        return await service.read(session, principal, str(stay_id), as_of)

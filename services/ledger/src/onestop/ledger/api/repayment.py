"""The daily repayment check (`POST /v1/repayment-checks`, DESIGN §9.1), home visits and write-offs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.common.pagination import PageDep
from onestop.contracts.enums import Role
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.receivables import checks, visits

router = APIRouter(prefix="/v1", tags=["repayment"])


class CheckRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date


class AssignmentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    township: str = Field(min_length=1, max_length=100, description="the township (乡镇/街道) that visits")


class OutcomeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Literal["unable_to_pay", "suspected_malicious_default", "will_pay"]
    visited_on: date
    note: str | None = Field(None, max_length=2000, description="the visitor's words: kept here, never published")


class WriteOffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


@router.post("/repayment-checks", summary="Run the daily repayment check as of a date (operator)",
             description="What the daily scheduler runs (ONESTOP_REPAYMENT_CHECK_HOUR): per region with active plans, "
                         "its terms from rules (`repayment.reminder_lead_days`, `grace_days`); "
                         "`ledger.repayment.reminder_due.v1` that many days before a due date, and once a plan's "
                         "oldest unpaid instalment is more than the grace period past due "
                         "`ledger.repayment.overdue.v1` "
                         "(identity opens a suspected-default case) and a home-visit task. Each notice is given once: "
                         "running a date again tells nothing twice.",
             responses=problem_responses(422, 503))
async def run_check(body: CheckRequest, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    require_role(principal, Role.operator)
    return await checks.run(runtime, body.as_of)


@router.get("/visits", summary="Home-visit tasks (入户走访) of a region",
            description="A bureau token: its region's (a city's or province's: of its counties); a hospital: its own "
                        "patients'; an operator: any. In creation order, with a cursor.",
            responses=problem_responses(403, 422))
async def list_visits(runtime: RuntimeDep, principal: CurrentPrincipal, page: PageDep,
                      region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None,
                      state: Annotated[Literal["open", "assigned", "recorded"] | None, Query()] = None) -> Any:
    async with runtime.db.transaction() as session:
        return await visits.list_visits(session, principal, page, region_code=region_code, state=state)


@router.post("/visits/{visit_id}/assignment", summary="Assign a visit to a township (county bureau)",
             responses=problem_responses(404, 409, 422))
async def assign(visit_id: str, body: AssignmentRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await visits.assign(session, principal, visit_id, body.township)

    fingerprint = request_hash("POST", f"/v1/visits/{visit_id}/assignment", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.post("/visits/{visit_id}/outcome", summary="Record the visit's outcome (county bureau)",
             description="`unable_to_pay`: identity dismisses the suspected-default case; then renegotiate the plan "
                         "(`replaces_plan_id`), refer to charity (reverse and re-settle with "
                         "`confirmed_unable_to_pay`) or have an operator write the debt off. "
                         "`suspected_malicious_default`: the case waits, with the visit date, for an operator in "
                         "identity. `ledger.repayment.visit_recorded.v1`. Recorded already: 409.",
             responses=problem_responses(404, 409, 422))
async def record(visit_id: str, body: OutcomeRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await visits.record(runtime, session, principal, visit_id, outcome=body.outcome,
                                   visited_on=body.visited_on, note=body.note)

    fingerprint = request_hash("POST", f"/v1/visits/{visit_id}/outcome", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.post("/stays/{stay_id}/write-off", status_code=201, summary="Write off what a patient owes (operator)",
             description="After a visit found the patient unable to pay: what the settled stay leaves owing is "
                         "written off with a reason, the plan ends `written_off`; `ledger.receivable.written_off.v1`.",
             responses=problem_responses(404, 409, 422))
async def write_off(stay_id: str, body: WriteOffRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                    idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await visits.write_off(runtime, principal, session, stay_id, body.reason)

    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/write-off", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)

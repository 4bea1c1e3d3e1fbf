"""The stay's statements: the estimate (预结算), the daily statement (一日清单), the discharge notice (出院前告知)."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.clock import TZ, as_shanghai, today
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.ledger.api.agreements import Relation
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.settlements.service import Discharge
from onestop.ledger.statements import daily, estimate, notices

router = APIRouter(prefix="/v1", tags=["statements"])


class EstimateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    discharged_at: datetime | date | None = Field(None, description="as if discharged then (default today, "
                                                                    "Asia/Shanghai); its date picks the year")
    disease_code: str | None = Field(None, min_length=1, max_length=32, description="default: admission's")
    confirmed_unable_to_pay: bool = False

    def discharge(self) -> Discharge:
        at = self.discharged_at or today()
        at = as_shanghai(at) if isinstance(at, datetime) else datetime.combine(at, time(12), tzinfo=TZ)
        return Discharge(at=at, through=at.date(), disease_code=self.disease_code,
                         confirmed_unable_to_pay=self.confirmed_unable_to_pay)


class NoticeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    expected_discharge: date = Field(description="the day the patient is expected to leave; 000 §2.4 asks for the "
                                                 "notice within the 2 days before it")
    told_by: str | None = Field(None, pattern=r"^[a-z][a-z_]{0,31}$",
                                description="the teller's role (doctor, nurse, billing …), never a name; who "
                                            "issued it is the token subject")
    told_to: Relation | None = Field(None, description="who was told: the patient (self) or a relation "
                                                       "(患者及家属或签订协议人)")


@router.post("/stays/{stay_id}/estimate", summary="Pre-settlement estimate (预结算)",
             description="Hospital token of the stay's hospital, or operator. The quote a settlement on "
                         "`discharged_at` would ask for the stay's unsettled lines (its next part), against the "
                         "person-year's accumulators as they stand; nothing is stored but an audit row (who, when, "
                         "total, self-pay), so no Idempotency-Key. Rules unreachable: 503 with Retry-After. No "
                         "unsettled line, a date before the part or a line, a stay crossing 31 December: 422; a "
                         "settled or cancelled stay: 409.",
             responses=problem_responses(404, 409, 422, 503))
async def post_estimate(stay_id: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                        body: Annotated[EstimateRequest | None, Body()] = None) -> Any:
    d = (body or EstimateRequest.model_validate({})).discharge()
    return await estimate.estimate(runtime, principal, stay_id, d)


@router.get("/stays/{stay_id}/daily-statement", summary="The daily statement (一日清单)",
            description="The stay's hospital, a bureau of its region, or operator. The day's lines (each charge "
                        "with its refunds up to the day; the day's refunds of earlier lines with the line they "
                        "refund), running totals by class (A/B/C) up to and including the day, the running "
                        "estimate per fund and the patient's share (a quote of the unsettled lines up to the day; "
                        "`estimate_note` says why there is none), and the cost alerts raised so far (启东 004). "
                        "`date` defaults to today (Asia/Shanghai); a malformed date or one before the admission: "
                        "422 naming `date`. Rules unreachable: 503.",
            responses=problem_responses(404, 422, 503))
async def get_daily_statement(stay_id: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                              on: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD")] = None
                              ) -> Any:
    return await daily.daily(runtime, principal, stay_id, on or today())


@router.post("/stays/{stay_id}/discharge-notice", status_code=201, summary="The written notice before discharge",
             description="Hospital token of the stay's hospital, or operator (000 §2.4 出院前2天书面告知). The "
                         "estimate for `expected_discharge` (total, each fund, the patient's share) stored as told "
                         "(when; by whom: the token subject, `told_by` a role, never a name) and published as "
                         "`ledger.discharge_notice.issued.v1` (amounts only). A later final settlement shows how it "
                         "differs from the latest notice (`notice.difference`). Rules unreachable: 503, nothing "
                         "written; no unsettled line or a date before a line: 422; a closed stay: 409.",
             responses=problem_responses(404, 409, 422, 503))
async def post_notice(stay_id: str, body: NoticeRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                      idempotency_key: IdempotencyKeyHeader = None) -> Any:
    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/discharge-notice", body.model_dump(mode="json"))
    return await notices.issue(runtime, principal, stay_id, expected_discharge=body.expected_discharge,
                               told_by=body.told_by, told_to=body.told_to, key=idempotency_key,
                               fingerprint=fingerprint)

"""Claims, decisions, withdrawals, disbursements and prepayments over HTTP (DESIGN §9.1, issue 14 points 4-6)."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, model_validator

from onestop.clearing.claims import appeals, calendar, payments, service
from onestop.clearing.claims import decisions as decisions_service
from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role
from onestop.contracts.money import PositiveYuan

router = APIRouter(prefix="/v1", tags=["claims"])
Amount = Annotated[PositiveYuan, Field(le=10**14)]  # fen: a trillion yuan at most, so it fits the bigint sums
RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
_PERIOD = re.compile(r"^(20\d{2})-?(0[1-9]|1[0-2])$")  # a claim month of this century


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hospital_code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    payer: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    region_code: str = Field(pattern=r"^\d{6}$", description="the fund's insurance region")
    setlym: str | None = Field(None, description="the settlement month, YYYYMM (NHSA 3203's setlym)")
    period: str | None = Field(None, description="the same month as YYYY-MM (DESIGN §9.1); give one of the two")

    @model_validator(mode="after")
    def _one_month(self) -> ClaimCreate:
        given = [v for v in (self.setlym, self.period) if v is not None]
        if len(given) != 1 or not _PERIOD.match(given[0]):
            raise ValueError("setlym: give the month once, as setlym YYYYMM or period YYYY-MM")
        return self

    def month(self) -> str:
        m = _PERIOD.match(self.setlym or self.period or "")
        assert m is not None
        return m.group(1) + m.group(2)


class DecisionItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settlement_id: str = Field(min_length=1, max_length=64)
    decision: Literal["approve", "deduct", "reject"]
    approved_amount: Amount | None = Field(None, description="deduct: the part approved, yuan")
    reason: str | None = Field(None, max_length=1000, description="required for deduct and reject")


class DecisionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[DecisionItem] = Field(min_length=1, max_length=10_000)


class DisbursementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    reference: str = Field(min_length=1, max_length=64, description="the fund's payment reference, unique per fund")
    amount: Amount
    paid_on: date = Field(alias="date", description="the payment date (also accepted as `paid_on`)")


class PrepaymentCreate(DisbursementCreate):
    hospital_code: str = Field(pattern=r"^[A-Za-z0-9_\-]{1,64}$")
    payer: str = Field(pattern=r"^[a-z][a-z0-9_]{0,47}$")
    region_code: str = Field(pattern=r"^\d{6}$")


def _fingerprint(path: str, body: BaseModel) -> str:
    return request_hash("POST", path, body.model_dump(mode="json"))


@router.post("/claims", status_code=201, summary="Claim a closed month's advances of one fund (NHSA 3203)",
             description="Hospital token of that hospital, or operator. Every posted leg of the fund whose "
                         "settlement month is `setlym` and that no other claim holds, with reversals netted (an "
                         "owed-back reversal of a claimed leg is a negative line). 409 before the month ends "
                         "(Asia/Shanghai), while another claim of the period is open (naming it in `claim_id`), or "
                         "with nothing to claim. A month whose claim was decided gets a supplementary claim. "
                         "`clearing.claim.submitted.v1`.", responses=problem_responses(403, 409, 422))
async def submit(body: ClaimCreate, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session: Any) -> tuple[int, Any]:
        return 201, await service.submit(runtime, principal, session, hospital_code=body.hospital_code,
                                         payer=body.payer, region_code=body.region_code, setlym=body.month())

    return await runtime.idempotency.run(principal, idempotency_key, _fingerprint("/v1/claims", body), work)


@router.get("/claims/{claim_id}", summary="A claim, its items and what was decided, netted and paid",
            description="`shape=nhsa` answers in NHSA 3203's field names; `format=csv` gives its items as CSV.",
            responses=problem_responses(404))
async def get_claim(claim_id: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                    shape: Annotated[Literal["onestop", "nhsa"], Query()] = "onestop",
                    format: Annotated[Literal["json", "csv"], Query()] = "json") -> Any:
    async with runtime.db.transaction() as session:
        row = await service.visible(session, principal, claim_id)
        answer = await service.read(session, row.id)
    if format == "csv":
        out = io.StringIO()
        head = service.nhsa(answer)
        writer = csv.writer(out)
        writer.writerow(["setlym", "fixmedins_code", "insu_admdvs", "setl_id", "kind", "medfee_sumamt",
                         "fund_appy_sum", "decision", "approved_amount", "reason"])
        for i in answer["items"]:
            writer.writerow([head["setlym"], head["fixmedins_code"], head["insu_admdvs"], i["settlement_id"],
                             i["kind"], i["total_cost"], i["amount"], i["decision"] or "", i["approved_amount"] or "",
                             i["reason"] or ""])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8")
    return service.nhsa(answer) if shape == "nhsa" else answer


@router.post("/claims/{claim_id}/withdrawal", status_code=201, summary="Withdraw a claim before its first decision",
             description="Its hospital or an operator; its reservations are voided and the period is free. 409 "
                         "once any item is decided.", responses=problem_responses(403, 404, 409))
async def withdraw(claim_id: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                   idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session: Any) -> tuple[int, Any]:
        return 201, await service.withdraw(runtime, principal, session, claim_id)

    fingerprint = request_hash("POST", f"/v1/claims/{claim_id}/withdrawal", {})
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.post("/claims/{claim_id}/decisions", status_code=201, summary="A fund's decisions on a claim's items (审核)",
             description="Payer token of the claim's fund (payer and region; 403 otherwise). Each item once (409 "
                         "again); deduct and reject need a reason. Approved amounts net the owed-back lines, then "
                         "the fund's prepayment. `clearing.claim.decided.v1` when every item is decided.",
             responses=problem_responses(403, 404, 409, 422))
async def decide(claim_id: str, body: DecisionCreate, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    items = [decisions_service.Decision(i.settlement_id, i.decision, i.approved_amount, i.reason) for i in body.items]

    async def work(session: Any) -> tuple[int, Any]:
        return 201, await decisions_service.decide(runtime, principal, session, claim_id, items)

    return await runtime.idempotency.run(principal, idempotency_key,
                                         _fingerprint(f"/v1/claims/{claim_id}/decisions", body), work)


@router.post("/claims/{claim_id}/disbursements", status_code=201, summary="A fund pays a claim (拨付)",
             description="Payer token of the claim's fund. Above what is approved and unpaid: 409 (the `approved` "
                         "account's limit refuses it). `clearing.disbursement.made.v1`.",
             responses=problem_responses(403, 404, 409, 422))
async def disburse(claim_id: str, body: DisbursementCreate, runtime: RuntimeDep, principal: CurrentPrincipal,
                   idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session: Any) -> tuple[int, Any]:
        return 201, await payments.disburse(runtime, principal, session, claim_id, reference=body.reference,
                                            amount=body.amount, paid_on=body.paid_on)

    return await runtime.idempotency.run(principal, idempotency_key,
                                         _fingerprint(f"/v1/claims/{claim_id}/disbursements", body), work)


@router.post("/prepayments", status_code=201, summary="A fund pays a hospital ahead of claims (预付金, 000 §3.4)",
             description="Payer token of that fund. Later decisions net it first (their answer shows "
                         "`prepayment_netted`).", responses=problem_responses(403, 409, 422))
async def prepay(body: PrepaymentCreate, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session: Any) -> tuple[int, Any]:
        return 201, await payments.prepay(principal, session, hospital_code=body.hospital_code, payer=body.payer,
                                          region_code=body.region_code, amount=body.amount,
                                          reference=body.reference, paid_on=body.paid_on)

    return await runtime.idempotency.run(principal, idempotency_key, _fingerprint("/v1/prepayments", body), work)


class ClaimRunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: date = Field(description="the day the run is for (Asia/Shanghai): claims of the month before it")


@router.post("/claim-runs", status_code=201, summary="Make the due automatic claims (the policy's calendar)",
             description="Operator. On or after `claims.apply_by_day`, each hospital × fund with unclaimed legs of "
                         "the month before `as_of` gets its claim; a fund with an open claim is skipped, with why.",
             responses=problem_responses(403, 422))
async def claim_run(body: ClaimRunCreate, runtime: RuntimeDep, principal: CurrentPrincipal,
                    idempotency_key: IdempotencyKeyHeader = None) -> Any:
    require_role(principal, Role.operator)
    apply_by_day = runtime.settings.claims_apply_by_day  # type: ignore[attr-defined]

    async def work(session: Any) -> tuple[int, Any]:
        return 201, await calendar.run(runtime, session, body.as_of, apply_by_day)

    return await runtime.idempotency.run(principal, idempotency_key, _fingerprint("/v1/claim-runs", body), work)


@router.get("/joint-reviews", summary="Every fund's claims of a hospital and month side by side (定期联审, 003)",
            description="`closed` when each fund has decided its own claim of the month.",
            responses=problem_responses(403, 422))
async def joint_review(runtime: RuntimeDep, principal: CurrentPrincipal,
                       hospital_code: Annotated[str, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")],
                       setlym: Annotated[str, Query(pattern=r"^20\d{2}(0[1-9]|1[0-2])$")]) -> Any:
    async with runtime.db.transaction() as session:
        return await calendar.joint_review(session, principal, hospital_code, setlym)


class AppealCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settlement_id: str = Field(min_length=1, max_length=64)
    note: str = Field(min_length=1, max_length=2000, description="the hospital's grounds (申诉理由)")


@router.post("/claims/{claim_id}/appeals", status_code=201, summary="Resubmit a rejected item once (申诉)",
             description="Hospital token of the claim's hospital. The item's rejected or deducted part is reserved "
                         "again and decided once more by the fund; the claim is `submitted` until then. 409 for an "
                         "item not rejected or deducted, or appealed before.",
             responses=problem_responses(403, 404, 409, 422))
async def appeal(claim_id: str, body: AppealCreate, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session: Any) -> tuple[int, Any]:
        return 201, await appeals.appeal(runtime, principal, session, claim_id, settlement_id=body.settlement_id,
                                         note=body.note)

    return await runtime.idempotency.run(principal, idempotency_key,
                                         _fingerprint(f"/v1/claims/{claim_id}/appeals", body), work)

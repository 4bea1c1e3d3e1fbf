"""Settlement (DESIGN §9.1), mid-stay settlement, reversal (NHSA 2305) and reading a settlement."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.clock import TZ, as_shanghai
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.common.pagination import PageDep
from onestop.contracts.enums import DischargeWay
from onestop.contracts.settlement_list import SettlementPage
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.settlements import lists, reads, service
from onestop.ledger.settlements.scope import Asked
from onestop.ledger.settlements.service import Discharge

router = APIRouter(prefix="/v1", tags=["settlements"])


class SettlementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    discharged_at: datetime | date = Field(description="a date or a time without a zone is Asia/Shanghai; its "
                                                       "date picks the accumulators' year")
    disease_code: str | None = Field(None, min_length=1, max_length=32, description="main discharge diagnosis "
                                                                                    "(ICD-10); default: admission's")
    discharge_way: DischargeWay = DischargeWay.normal
    confirmed_unable_to_pay: bool = Field(False, description="confirmed as wholly unable to pay (a one-off grant)")

    def discharge(self) -> Discharge:
        at = self.discharged_at
        at = as_shanghai(at) if isinstance(at, datetime) else datetime.combine(at, time(12), tzinfo=TZ)
        return Discharge(at=at, through=at.date(), disease_code=self.disease_code,
                         discharge_way=self.discharge_way.value, confirmed_unable_to_pay=self.confirmed_unable_to_pay)


class MidSettlementRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    through: date = Field(description="the last day whose lines this part takes (31 December for a stay crossing "
                                      "the year); the stay stays open")


class ReversalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


_SETTLE_DOC = ("Hospital token of the stay's hospital, or operator. The final quote is asked of rules over NATS "
               "before anything is locked (rules unreachable: 503 with Retry-After, nothing written); then one "
               "transaction locks the person-year's accumulators (quoted again if they moved), writes the settlement "
               "and each fund's row with its national code, closes the stay and publishes "
               "`ledger.settlement.finalized.v1`. Eligibility is asked again as of the discharge date "
               "(`eligibility_recheck`; the admission snapshot governs). No fee lines: 422; a settled stay: 409; a "
               "stay crossing 31 December: 422 (mid-settle through 12-31 first).")


@router.post("/stays/{stay_id}/settlement", status_code=201, summary="One-stop settlement at discharge (一站式结算)",
             description=_SETTLE_DOC, responses=problem_responses(404, 409, 422, 503))
async def settle(stay_id: str, body: SettlementRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/settlement", body.model_dump(mode="json"))
    return await service.settle(runtime, principal, stay_id, body.discharge(), key=idempotency_key,
                                fingerprint=fingerprint)


@router.post("/stays/{stay_id}/mid-settlement", status_code=201, summary="Mid-stay settlement (中途结算)",
             description="The unsettled lines dated up to `through` settled as a settlement of their own (NHSA "
                         "`mid_setl_flag`), against `through`'s year's accumulators; the stay stays open and its "
                         "later lines go into the next part. Required for a stay crossing 31 December. Later parts "
                         "carry the deductible the earlier bore (`stay.part` of the quote).",
             responses=problem_responses(404, 409, 422, 503))
async def mid_settle(stay_id: str, body: MidSettlementRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                     idempotency_key: IdempotencyKeyHeader = None) -> Any:
    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/mid-settlement", body.model_dump(mode="json"))
    return await service.settle(runtime, principal, stay_id, Discharge(at=None, through=body.through),
                                key=idempotency_key, fingerprint=fingerprint)


@router.post("/settlements/{settlement_id}/reversal", status_code=201, summary="Reverse a settlement (NHSA 2305)",
             description="A new settlement record with every amount negated, generated from the original's rows; "
                         "the accumulators restored, the lines given back, the stay reopened for correction and "
                         "re-settlement; `ledger.settlement.reversed.v1`. Only the person's latest settlement of "
                         "its year and the stay's latest part: otherwise 409 naming the later ones "
                         "(`later_settlement_ids`).",
             responses=problem_responses(404, 409, 422))
async def reverse(settlement_id: str, body: ReversalRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                  idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.reverse(runtime, principal, session, settlement_id, body.reason)

    fingerprint = request_hash("POST", f"/v1/settlements/{settlement_id}/reversal", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


_PERIOD = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"  # a year that has a month after it (0000-01, 9999-12 are no period)


@router.get("/settlements", summary="Settlements with their totals, for reconciliation, funds and bureaus",
            description="Finals, mid-stay parts and reversals (a reversal's amounts negative), each with every "
                        "fund's amount and a link to its lines, oldest first, with a cursor; `totals` are over the "
                        "whole filtered set (count, total, each payer, self pay), on every page. `period` (YYYY-MM) "
                        "is the month of the settlement's `through` date (the discharge date; a part's last day) in "
                        "Asia/Shanghai, NHSA `setlym`; a reversal falls in the month of what it reverses. `payer`: "
                        "the settlements that fund paid (a fund is payer × insurance region: give `region_code`). "
                        "`region_code` is the insurance region (参保地), a province or city code taking its "
                        "counties. A hospital token lists its own hospital's, a bureau its region's, a payer token "
                        "its fund's in its region, an operator or clearing's service token all; asking outside the "
                        "scope is a 403. Bad parameters: 422 naming them.",
            response_model=SettlementPage, responses=problem_responses(403, 422))
async def list_settlements(
        runtime: RuntimeDep, principal: CurrentPrincipal, page: PageDep,
        hospital_code: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
        payer: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$")] = None,
        region_code: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
        period: Annotated[str | None, Query(pattern=_PERIOD, description="YYYY-MM")] = None) -> Any:
    return await lists.listing(runtime, principal, Asked(hospital_code=hospital_code, region_code=region_code,
                                                         payer=payer, period=period), page)


@router.get("/settlements/{settlement_id}", summary="A settlement (as shaped here, or in NHSA 2304's names)",
            description="Its hospital, a bureau of its region, a payer token of a fund that paid in it (its "
                        "region), an operator or clearing. `shape=nhsa`: `setlinfo` and `setldetail[]` in the "
                        "national 2304 field names (see ledger/domain/nhsa.py for the sums); a reversal there has "
                        "every amount negative.",
            responses=problem_responses(404, 422))
async def get_settlement(settlement_id: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                         shape: Annotated[Literal["default", "nhsa"], Query()] = "default") -> Any:
    async with runtime.db.transaction() as session:
        return await reads.one(session, principal, settlement_id, national=shape == "nhsa")


@router.get("/settlements/{settlement_id}/lines", summary="The fee lines a settlement took, refunds among them",
            description="Readable by whoever reads the settlement (a fund's reviewer reads the lines its claims "
                        "name). A reversal's lines are those of the settlement it reverses.",
            responses=problem_responses(404))
async def settlement_lines(settlement_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    async with runtime.db.transaction() as session:
        return await reads.lines(session, principal, settlement_id)


@router.get("/stays/{stay_id}/settlements", summary="A stay's settlements, parts and reversals, in order",
            responses=problem_responses(404))
async def stay_settlements(stay_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    async with runtime.db.transaction() as session:
        return await reads.of_stay(session, principal, stay_id)

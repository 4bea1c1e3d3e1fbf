"""POST /v1/stays/{id}/fee-lines (DESIGN §9.1; NHSA 2301) and POST /v1/stays/{id}/fee-lines:withdraw (NHSA 2302)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, field_validator

from onestop.common.auth import CurrentPrincipal
from onestop.common.clock import TZ
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.contracts.enums import FeeClass
from onestop.contracts.money import NonNegativeYuan, Yuan
from onestop.contracts.quote import refuse_float_quantity
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.fees import service
from onestop.ledger.fees.service import PostedLine

router = APIRouter(prefix="/v1", tags=["fee lines"])
MAX_BATCH = 1000


class FeeLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    line_id: str = Field(min_length=1, max_length=64, description="the HIS's line id (feedetl_sn); a line_id seen "
                                                                  "before is not added twice")
    code: str = Field(min_length=1, max_length=64, description="item code (医保目录 where it has one)")
    name: str = Field(min_length=1, max_length=200)
    fee_class: FeeClass = Field(alias="class", description="A 甲类, B 乙类, C 丙类/自费 (the catalogue may override)")
    amount: Yuan = Field(description="yuan, 2 places at most; negative for a refund (退费), which names its line")
    occurred_at: datetime | date = Field(description="when it was given; a date or a time without a zone is "
                                                     "Asia/Shanghai; not before the admission date")
    quantity: Decimal | None = Field(None, max_digits=18, decimal_places=4,
                                     description="decimal string; negative for a refund")
    unit_price: NonNegativeYuan | None = None
    refunds_line_id: str | None = Field(None, min_length=1, max_length=64,
                                        description="the line a refund takes back (NHSA init_feedetl_sn)")

    _no_float = field_validator("quantity", mode="before")(staticmethod(refuse_float_quantity))

    def posted(self) -> PostedLine:
        at = self.occurred_at
        if not isinstance(at, datetime):
            at = datetime.combine(at, time(0), tzinfo=TZ)
        return PostedLine(line_id=self.line_id, code=self.code, name=self.name, fee_class=self.fee_class.value,
                          amount_fen=self.amount, occurred_at=at, quantity=self.quantity,
                          unit_price_fen=self.unit_price, refunds_line_id=self.refunds_line_id)


class FeeLinesRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lines: list[FeeLineIn] = Field(min_length=1, max_length=MAX_BATCH)


@router.post("/stays/{stay_id}/fee-lines", status_code=201, summary="Post fee lines (batches of up to 1,000)",
             description="Hospital token of the stay's hospital, or operator. The batch commits whole or not at "
                         "all. A `line_id` seen before with the same content is not added again (`already_posted`)"
                         "; with other content: 409 naming it (`line_ids`). A refund (退费) is a line with a negative "
                         "`amount` and `refunds_line_id`; refunds never exceed their line (422) and a line a "
                         "settlement took is refunded only after that settlement's reversal (409). A settled or "
                         "cancelled stay takes no line (409).",
             responses=problem_responses(404, 409, 422))
async def post_lines(stay_id: str, body: FeeLinesRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                     idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.post(runtime, principal, session, stay_id, [x.posted() for x in body.lines])

    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/fee-lines", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.post("/stays/{stay_id}/fee-lines:withdraw", summary="Withdraw every unsettled line (NHSA 2302)",
             description="The lines no settlement has taken are withdrawn (kept as history); posting a withdrawn "
                         "`line_id` again with the same content brings it back.",
             responses=problem_responses(404, 409))
async def withdraw(stay_id: str, runtime: RuntimeDep, principal: CurrentPrincipal,
                   idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.withdraw(runtime, principal, session, stay_id)

    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/fee-lines:withdraw", {})
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)

"""Payments at the window (DESIGN §9.1 `POST /v1/stays/{id}/payments`), refunds, voids and the daily close."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Header, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from onestop.common.auth import CurrentPrincipal
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.openapi import problem_responses
from onestop.contracts.money import PositiveYuan
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.receivables import payments as service

router = APIRouter(prefix="/v1", tags=["payments"])

Method = Literal["cash", "card", "wechat", "alipay", "transfer"]


class PaymentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: PositiveYuan = Field(description="yuan, 2 places at most")
    method: Method
    receipt_no: str | None = Field(None, min_length=1, max_length=64, description="the hospital's receipt number "
                                                                                  "(收据号), unique at the hospital")
    paid_at: AwareDatetime | None = Field(None, description="default: now; its Asia/Shanghai date is the "
                                                            "cashier's day")


class RefundRequest(PaymentRequest):
    receipt_no: str = Field(min_length=1, max_length=64, description="the refund's own receipt number")


class VoidRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000)


@router.post("/stays/{stay_id}/payments", status_code=201, summary="A payment at the window",
             description="Hospital token of the stay's hospital, or operator. While the stay is open it is a payment "
                         "on account (分阶段付费, 001 三(二)), never above the current estimate's patient share (the "
                         "estimate is quoted by rules: 503 when rules is down, nothing written); after settlement a "
                         "payment of the patient's share, never above what is owed (422 naming `amount`, with "
                         "`payable`). A receipt number used before at the hospital: 409 naming `receipt_no`. The "
                         "next settlement credits what was paid on account (`payments_on_account`). "
                         "`ledger.payment.received.v1`.",
             responses=problem_responses(404, 409, 422, 503))
async def pay(stay_id: str, body: PaymentRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
              idempotency_key: IdempotencyKeyHeader = None) -> Any:
    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/payments", body.model_dump(mode="json"))
    return await service.pay(runtime, principal, stay_id, amount_fen=body.amount, method=body.method,
                             receipt_no=body.receipt_no, paid_at=body.paid_at, key=idempotency_key,
                             fingerprint=fingerprint)


@router.post("/stays/{stay_id}/refunds", status_code=201, summary="Refund an overpayment (on its own receipt)",
             description="What was paid on account above the patient's share of the settled stay (`refund_due`), or "
                         "while open above the current estimate; above it: 422 naming `amount`.",
             responses=problem_responses(404, 409, 422, 503))
async def refund(stay_id: str, body: RefundRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
                 idempotency_key: IdempotencyKeyHeader = None) -> Any:
    fingerprint = request_hash("POST", f"/v1/stays/{stay_id}/refunds", body.model_dump(mode="json"))
    return await service.refund(runtime, principal, stay_id, amount_fen=body.amount, method=body.method,
                                receipt_no=body.receipt_no, paid_at=body.paid_at, key=idempotency_key,
                                fingerprint=fingerprint)


@router.post("/payments/{payment_id}/void", status_code=201, summary="Void a payment or refund entered by mistake",
             description="A reversing record with the reason; the original is kept, marked `voided_by`. Voided "
                         "already, or a void itself: 409.",
             responses=problem_responses(404, 409, 422))
async def void(payment_id: str, body: VoidRequest, runtime: RuntimeDep, principal: CurrentPrincipal,
               idempotency_key: IdempotencyKeyHeader = None) -> Any:
    async def work(session):  # type: ignore[no-untyped-def]
        return await service.void(runtime, principal, session, payment_id, body.reason)

    fingerprint = request_hash("POST", f"/v1/payments/{payment_id}/void", body.model_dump(mode="json"))
    return await runtime.idempotency.run(principal, idempotency_key, fingerprint, work)


@router.get("/stays/{stay_id}/payments", summary="A stay's payments, refunds and voids, and what is owed",
            responses=problem_responses(404))
async def stay_payments(stay_id: UUID, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    async with runtime.db.transaction() as session:
        return await service.of_stay(runtime, principal, session, str(stay_id))


_CSV_COLUMNS = ("cashier", "method", "count", "received", "refunded", "voided", "net")


@router.get("/daily-close", summary="A cashier's daily close: totals per cashier and method (JSON or CSV)",
            description="Hospital token (its own hospital) or operator. The day is Asia/Shanghai; a void counts on "
                        "the day it was recorded. `Accept: text/csv` (or `format=csv`) answers CSV in UTF-8 with a "
                        "BOM (Excel opens it), one row per cashier and method and a total row.",
            responses={**problem_responses(403, 422), 200: {"content": {"text/csv": {}}}})
async def daily_close(runtime: RuntimeDep, principal: CurrentPrincipal,
                      hospital_code: Annotated[str, Query(min_length=1, max_length=32)],
                      on: Annotated[date, Query(alias="date")],
                      format: Annotated[Literal["json", "csv"] | None, Query()] = None,
                      accept: Annotated[str | None, Header()] = None) -> Any:
    async with runtime.db.transaction() as session:
        out = await service.close(session, principal, hospital_code, on)
    if format == "csv" or (format is None and accept and "text/csv" in accept):
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(_CSV_COLUMNS)
        for line in out["lines"]:
            writer.writerow([line[c] for c in _CSV_COLUMNS])
        writer.writerow(["total", "", *[out["total"][c] for c in _CSV_COLUMNS[2:]]])
        return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="daily-close-{hospital_code}-{on.isoformat()}.csv"'})
    return out




"""POST /v1/quotes: the payer waterfall for a bill (DESIGN §9.1)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from onestop.contracts.quote import QuoteRequest, QuoteResult
from onestop.rules.api.deps import CurrentPrincipal, PoliciesDep
from onestop.rules.domain.nhsa import NhsaSettlement, to_nhsa
from onestop.rules.service import quote

router = APIRouter(prefix="/v1", tags=["quotes"])


@router.post(
    "/quotes",
    response_model=QuoteResult | NhsaSettlement,
    summary="Quote a bill: fee classification, then every payer in the policy's order, with a trace",
    description=(
        "Pure computation: stores nothing, needs no Idempotency-Key. `accumulators` is the person's "
        "year-to-date state (empty = first stay of the year); the answer's `delta` is what this stay adds, "
        "which the ledger applies at settlement and negates on reversal. "
        "`sum(payers.amount) + self_pay == total` to the fen. `?shape=nhsa` answers in the national "
        "settlement interface's field names (medfee_sumamt, hifp_pay, … setldetail)."
    ),
)
async def post_quote(
    body: QuoteRequest,
    policies: PoliciesDep,
    _principal: CurrentPrincipal,
    shape: Literal["onestop", "nhsa"] = Query("onestop", description="answer shape"),
) -> Any:
    result = quote(policies, body)
    model = to_nhsa(result) if shape == "nhsa" else result
    # serialised once here: FastAPI would otherwise check the (already typed) answer against the union
    return Response(model.model_dump_json(), media_type="application/json")

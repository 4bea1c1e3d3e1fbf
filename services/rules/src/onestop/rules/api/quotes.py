"""POST /v1/quotes: the payer waterfall for a bill (DESIGN §9.1)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import ValidationError

from onestop.contracts.quote import QuoteRequest, QuoteResult
from onestop.rules.api.deps import CurrentPrincipal, PoliciesDep
from onestop.rules.domain.nhsa import NhsaSettlement, to_nhsa
from onestop.rules.service import quote


class _QuoteBodyRoute(APIRoute):
    """Reads a JSON `QuoteRequest` straight from the bytes with pydantic-core's parser.

    FastAPI would `json.loads` the body into dicts and then validate those (about a third of a quote's
    CPU for a 100-line bill). Here a valid body is validated from the bytes once and handed to FastAPI,
    which takes a model instance as already valid; anything else (another content type, a body that
    fails) goes FastAPI's usual way, so every error answer is exactly what it was."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def app(request: Request) -> Response:
            if request.headers.get("content-type") == "application/json":
                try:
                    request._json = QuoteRequest.model_validate_json(await request.body())
                except ValidationError:
                    pass
            return await handler(request)

        return app


router = APIRouter(prefix="/v1", tags=["quotes"], route_class=_QuoteBodyRoute)


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

"""POST /v1/eligibility: may this person be admitted without a deposit here, on this date (DESIGN §9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

from onestop.common.auth import CurrentPrincipal, Principal
from onestop.common.ratelimit import RateLimited
from onestop.common.service_app import Runtime
from onestop.contracts.eligibility import EligibilityAnswer
from onestop.identity.api.deps import RuntimeDep
from onestop.identity.persons.service import EligibilityQuery, eligibility


class EligibilityRequest(BaseModel):
    """Who, where, when. The ID number travels only in this body, never in a URL."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(max_length=32, description="18 characters (or 15 digits, converted)")
    region_code: str = Field(max_length=6, description="the person's insurance region (参保地), 6 digits")
    hospital_code: str = Field(min_length=1, max_length=32)
    on: dt.date | None = Field(None, alias="date", description="the admission date; default today (Asia/Shanghai)")


router = APIRouter(prefix="/v1", tags=["eligibility"], dependencies=[RateLimited])


@router.post("/eligibility", summary="Treat-first eligibility (changes nothing but the access audit)",
             response_class=JSONResponse, response_model=EligibilityAnswer,
             description="Hospital, bureau and operator tokens, and the ledger's `service` token (no other "
                         "service's: 403). A service caller names the hospital the stay is at and is audited "
                         "with it, as the hospital would be; it alone is answered `age` and `person`.")
async def post_eligibility(body: EligibilityRequest, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return Response(await _answer(runtime, principal, body), media_type="application/json")


async def _answer(runtime: Runtime, principal: Principal, body: EligibilityRequest) -> bytes:
    answer = await eligibility(runtime, principal, EligibilityQuery(body.id_number, body.region_code,
                                                                    body.hospital_code, body.on))
    # The answer is JSON-ready (strings, numbers, lists): serialised by pydantic-core in one call, without
    # FastAPI's jsonable_encoder walk or the json module's encoder (hot path).
    return to_json(answer)


async def fast_eligibility(runtime: Runtime, principal: Principal, body: bytes) -> bytes:
    """The same answer from the fast lane (onestop.common.fast_lane): the hot path of every admission
    window. A body the model refuses raises ValidationError, and the route above answers the 422. The lane
    applies the token's rate limit, as the router's RateLimited dependency does for the route."""
    return await _answer(runtime, principal, EligibilityRequest.model_validate_json(body))


FAST_ROUTES = {("POST", "/v1/eligibility"): fast_eligibility}

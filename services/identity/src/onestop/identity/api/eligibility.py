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
from onestop.contracts.enums import Category, Disability, Insurance
from onestop.contracts.quote import Person
from onestop.identity.api.deps import RuntimeDep
from onestop.identity.persons.service import EligibilityQuery, eligibility


class EligibilityRequest(BaseModel):
    """Who, where, when. The ID number travels only in this body, never in a URL."""

    model_config = ConfigDict(extra="forbid")

    id_number: str = Field(max_length=32, description="18 characters (or 15 digits, converted)")
    region_code: str = Field(max_length=6, description="the person's insurance region (参保地), 6 digits")
    hospital_code: str = Field(min_length=1, max_length=32)
    on: dt.date | None = Field(None, alias="date", description="the admission date; default today (Asia/Shanghai)")


class _Insurance(BaseModel):
    scheme: Insurance
    region_code: str = Field(description="the insurance region (参保地) of the enrolment the decision used")


class _Reason(BaseModel):
    code: str = Field(description="stable code, e.g. not_insured, blacklisted")
    text_zh: str = Field(description="the sentence for the window, in Chinese")


class _PolicyUsed(BaseModel):
    region_code: str
    policy_id: str | None
    version: int | None
    valid_from: dt.date
    origin: str = Field(description="how identity learnt the rule: from rules' policy.published event or over HTTP")


class EligibilityAnswer(BaseModel):
    """The decision, for every caller; a `service` caller (the ledger, at admission) is also given `age` and
    `person`, the person facts a quote needs, which no hospital, bureau or operator answer carries.

    `person` has the shape of `person` in `POST /v1/quotes` (rules), so the ledger snapshots it on the stay
    and quotes with it unchanged: `categories` (every assistance category in force on the date, not only
    those that admitted the person), `insurance` (the scheme of the enrolment used), `household`,
    `disability`, `disease_class` and `labour` (002 精准识别, from the poverty office's register) and `age`
    (completed years on the date). It is null for a person identity does not know or who has no insurance
    enrolment in force on the date. No answer carries the ID number or the name in clear, nor the birth
    date: the number masked, with the birth year."""

    id_number_masked: str = Field(description="e.g. 4112**********5162: the first four and last four characters")
    birth_year: int
    person_id: str | None = Field(description="identity's id of the person; null when not on any register")
    region_code: str
    hospital_code: str
    on: dt.date = Field(alias="date", description="the date decided for")
    eligible: bool
    categories: list[Category] = Field(description="the categories that admitted the person (empty if not eligible)")
    active_categories: list[Category] = Field(description="every category in force on the date")
    matched_groups: list[str] = Field(description="the ids of the rule's admission groups the person falls in")
    insurance: _Insurance | None
    blacklisted: bool
    direct_settlement_allowed: bool
    disability: Disability | None
    reasons: list[_Reason]
    policy: _PolicyUsed
    age: int | None = Field(None, ge=0, description="`service` callers only: completed years (周岁) on the date")
    # The description sits beside anyOf, not on Person's shared schema (see rules' api/operations.py for why
    # that matters).
    person: Person | None = Field(None, description="`service` callers only: the quote request's `person` on the "
                                                    "date; null for an unknown or uninsured person")


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

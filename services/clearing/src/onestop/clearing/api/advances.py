"""GET /v1/advances: what each fund still owes each hospital (DESIGN §9.1), within the caller's scope."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from onestop.clearing.store import books
from onestop.common.auth import CurrentPrincipal
from onestop.common.errors import Forbidden
from onestop.common.money import Yuan, format_fen
from onestop.common.openapi import problem_responses
from onestop.common.pagination import NEXT_HEADERS, OptionalPageDep, set_next_headers
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role
from onestop.contracts.regions import region_within, significant_digits

router = APIRouter(prefix="/v1", tags=["books"])


class AdvanceRead(BaseModel):
    hospital_code: str
    payer: str
    region_code: str = Field(description="the fund's insurance region (basic of 150222 is not basic of 410000)")
    outstanding: Yuan = Field(description="advanced by the hospital, neither paid nor rejected by the fund")


def _scope(principal: Any, hospital_code: str | None, payer: str | None,
           region_code: str | None) -> tuple[str | None, str | None, str]:
    """The filters the caller may ask: a hospital its own, a payer its fund, a bureau its region; 403 beyond."""
    region = region_code
    if principal.role is Role.hospital:
        if hospital_code not in (None, principal.hospital_code):
            raise Forbidden("a hospital sees its own advances")
        hospital_code = principal.hospital_code
    elif principal.role in (Role.payer, Role.bureau):
        if principal.role is Role.payer and payer not in (None, principal.payer):
            raise Forbidden("a payer sees its own fund's advances")
        payer = principal.payer if principal.role is Role.payer else payer
        if region is not None and not region_within(region, principal.region_code or ""):
            raise Forbidden("that region is outside your scope")
        region = region or principal.region_code
        if region is None:
            raise Forbidden("your token has no region")
    elif principal.role not in (Role.operator, Role.service):
        raise Forbidden("this call is for hospitals, payers, bureaus and operators")
    prefix = region[:significant_digits(region)] if region else ""
    return hospital_code, payer, prefix


@router.get("/advances", response_model=list[AdvanceRead], responses={**NEXT_HEADERS, **problem_responses(401, 403)},
            summary="What each fund still owes each hospital (a bare array; `limit` pages it)",
            description="Per hospital × fund: what the hospital advanced and the fund has neither paid nor "
                        "rejected. A hospital sees its own, a payer its fund (payer and region), a bureau its "
                        "region's funds. The whole list unless `limit` is given; then the next page's cursor is "
                        "in the `Next-Cursor` header.")
async def list_advances(principal: CurrentPrincipal, runtime: Annotated[Runtime, Depends(runtime_of)],
                        request: Request, response: Response, page: OptionalPageDep,
                        hospital_code: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_\-]{1,64}$")] = None,
                        payer: Annotated[str | None, Query(pattern=r"^[a-z][a-z0-9_]{0,47}$")] = None,
                        region_code: Annotated[str | None, Query(pattern=r"^\d{6}$")] = None) -> Any:
    hospital_code, payer, prefix = _scope(principal, hospital_code, payer, region_code)
    after = page.after((str, str, str))
    async with runtime.db.transaction() as session:
        found = await books.outstanding(session, hospital_code=hospital_code, payer=payer, region_prefix=prefix,
                                        after=after, limit=page.limit + 1)  # type: ignore[arg-type]
    listed = [AdvanceRead(hospital_code=r.hospital_code, payer=r.payer, region_code=r.region_code,
                          outstanding=format_fen(int(r.outstanding))) for r in found]
    items, next_cursor = page.of(listed, lambda a: (a.hospital_code, a.payer, a.region_code))
    set_next_headers(request, response, next_cursor)
    return items

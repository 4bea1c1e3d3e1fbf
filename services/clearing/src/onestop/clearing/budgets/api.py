"""GET /v1/budgets: each fund budget of a region's policy with what the fund consumed (003 二(三)2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from onestop.clearing.budgets.service import budgets_of, status
from onestop.clearing.store import budgets as store
from onestop.common.auth import CurrentPrincipal
from onestop.common.errors import Forbidden
from onestop.common.money import Yuan
from onestop.common.openapi import problem_responses
from onestop.common.pagination import NEXT_HEADERS, OptionalPageDep, set_next_headers
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role
from onestop.contracts.regions import region_within

router = APIRouter(prefix="/v1", tags=["budgets"])


class PeriodRead(BaseModel):
    start: str
    end: str


class BudgetRead(BaseModel):
    payer: str
    name_zh: str
    region_code: str
    period: PeriodRead = Field(description="the days it covers, both included")
    shares: dict[str, int] = Field(description="contributor → parts (003: city 1, county 1)")
    budget: Yuan
    consumed: Yuan = Field(description="the fund's posted legs settled within the period, reversals netted")
    remaining: Yuan = Field(description="negative once over: the fund still owes what it owes")
    percent: str = Field(description="consumed / budget, in percent, 2 places")
    thresholds_reached: list[int] = Field(description="80 and 100 once reached (each announced once)")


@router.get("/budgets", response_model=list[BudgetRead],
            responses={**NEXT_HEADERS, **problem_responses(401, 403, 503)},
            summary="A region's fund budgets and what each fund consumed",
            description="The budgets the region's policy states (rules' operations `funds`), each with the "
                        "fund's consumption from clearing's postings over its period. An operator any region, a "
                        "bureau one within its own, a fund its own budget.")
async def list_budgets(principal: CurrentPrincipal, runtime: Annotated[Runtime, Depends(runtime_of)],
                       request: Request, response: Response, page: OptionalPageDep,
                       region_code: Annotated[str, Query(pattern=r"^\d{6}$")]) -> Any:
    if principal.role in (Role.bureau, Role.payer):
        if not region_within(region_code, principal.region_code or ""):
            raise Forbidden("region_code is outside your region")
    elif principal.role is not Role.operator:
        raise Forbidden("budgets are for operators, bureaus and funds")
    out = []
    for b in await budgets_of(runtime, region_code):
        if principal.role is Role.payer and b.payer != principal.payer:
            continue
        async with runtime.db.transaction() as session:
            fen = await store.consumed(session, b.payer, b.region_code, *b.bounds())
            reached = await store.reached(session, b.payer, b.region_code, b.start)
        out.append(status(b, fen, reached))
    # the whole list unless `limit` is given (a region states a few budgets); then the cursor is in Next-Cursor
    items, next_cursor = page.slice(out, lambda x: (x["payer"], x["period"]["start"]), (str, str))
    set_next_headers(request, response, next_cursor)
    return items

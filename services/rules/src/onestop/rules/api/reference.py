"""Reference data in the policy: designated hospitals, the fee catalogue, the treat-first rule."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from onestop.common.auth import require_role
from onestop.common.clock import today
from onestop.common.idempotency import IdempotencyKeyHeader, request_hash
from onestop.common.pagination import NEXT_HEADERS, OptionalPageDep, Page, PageDep, set_next_headers
from onestop.contracts.enums import Role
from onestop.contracts.treat_first import TreatFirstRule
from onestop.rules.api.deps import CurrentPrincipal, PoliciesDep, RuntimeDep
from onestop.rules.api.policies import publish_text
from onestop.rules.domain.policy import CatalogueEntry, Hospital, NoPolicyInForce
from onestop.rules.errors import NoPolicy

router = APIRouter(prefix="/v1", tags=["reference data"])
Region = Annotated[str, Query(pattern=r"^\d{6}$", description="6-digit region code (GB/T 2260)")]


class HospitalRead(BaseModel):
    hospital_code: str
    name: str
    level: str
    public: bool
    region_code: str
    valid_from: date | None = Field(None, description="the hospital's own start (absent: the policy's)")
    valid_to: date | None = Field(None, description="its last day (absent: open-ended)")
    illustrative: bool | None = Field(None, description="true: its code or dates are not stated by a seed")


@router.get("/hospitals", response_model=list[HospitalRead], response_model_exclude_none=True,
            responses=NEXT_HEADERS, summary="The region's designated hospitals, by hospital code",
            description="With `date`: the hospitals in force on that day (what admission checks against). "
                        "Without: today's, and those whose own `valid_from` is later, with their dates "
                        "(启东's pilot hospitals: 人民医院 from the second quarter of 2020, 中医院 the third). "
                        "A bare array, as DESIGN §9.1 pins it: the whole list, unless `limit` is given; then "
                        "the next page's cursor is in the `Next-Cursor` header (and `Link: <…>; rel=\"next\"`).")
async def list_hospitals(region_code: Region, policies: PoliciesDep, _p: CurrentPrincipal, request: Request,
                         response: Response, page: OptionalPageDep,
                         on: Annotated[date | None, Query(alias="date")] = None) -> Any:
    try:
        hospitals = (policies.registry.hospitals(region_code, on) if on is not None
                     else policies.registry.hospitals(region_code, today(), upcoming=True))
    except NoPolicyInForce:
        raise NoPolicy.of(region_code, on or today()) from None
    listed = sorted((HospitalRead(hospital_code=h.hospital_code, name=h.name, level=h.level.value, public=h.public,
                                  region_code=h.region_code, valid_from=h.valid_from, valid_to=h.valid_to,
                                  illustrative=h.illustrative or None) for h in hospitals),
                    key=lambda h: h.hospital_code)
    items, next_cursor = page.slice(listed, lambda h: (h.hospital_code,), (str,))
    set_next_headers(request, response, next_cursor)
    return items


@router.get("/catalogue/{region_code}", response_model=Page[CatalogueEntry], response_model_by_alias=True,
            summary="The region's fee catalogue (医保目录) in force on a date, by code (paginated)")
async def get_catalogue(region_code: str, policies: PoliciesDep, _p: CurrentPrincipal, page: PageDep,
                        on: Annotated[date | None, Query(alias="date")] = None) -> Any:
    on = on or today()
    try:
        entries = sorted(policies.registry.catalogue(region_code, on), key=lambda e: e.code)
    except NoPolicyInForce:
        raise NoPolicy.of(region_code, on) from None
    items, next_cursor = page.slice(entries, lambda e: (e.code,), (str,))
    return Page[CatalogueEntry](items=items, next_cursor=next_cursor)


@router.get("/treat-first/{region_code}", response_model=TreatFirstRule,
            summary="Who may use treat-first in the region on a date (identity and ledger decide from it)",
            description="The headers `Policy-Id` and `Policy-Version` name the policy version the rule comes from.")
async def get_treat_first(region_code: str, policies: PoliciesDep, _p: CurrentPrincipal, response: Response,
                          on: Annotated[date | None, Query(alias="date")] = None) -> Any:
    on = on or today()
    try:
        resolved = policies.registry.resolve(region_code, on)
        rule = policies.registry.treat_first(region_code, on)
    except NoPolicyInForce:
        raise NoPolicy.of(region_code, on) from None
    response.headers["Policy-Id"] = resolved.id
    response.headers["Policy-Version"] = str(resolved.version)
    return rule


class HospitalsAdd(BaseModel):
    region_code: str = Field(pattern=r"^\d{6}$", description="the policy the hospitals are added to")
    hospitals: list[Hospital] = Field(min_length=1)
    valid_from: date | None = Field(None, description="the new version's start; default: the current one's")


class CatalogueAdd(BaseModel):
    items: list[CatalogueEntry] = Field(min_length=1)
    valid_from: date | None = None


@router.post("/hospitals", status_code=201, summary="Add or replace hospitals (operator): a new policy version")
async def add_hospitals(body: HospitalsAdd, runtime: RuntimeDep, policies: PoliciesDep,
                        principal: CurrentPrincipal, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    require_role(principal, Role.operator)
    from onestop.rules.service import amended_source

    items = [h.model_dump(mode="json", exclude_none=True) for h in body.hospitals]
    filename, text = amended_source(policies, body.region_code, "hospitals", items, "hospital_code", body.valid_from)
    return await publish_text(runtime, policies, principal, idempotency_key, filename, text,
                              request_hash("POST", "/v1/hospitals", body.model_dump(mode="json")))


@router.post("/catalogue/{region_code}/items", status_code=201,
             summary="Add or replace catalogue items (operator): a new policy version")
async def add_catalogue_items(region_code: str, body: CatalogueAdd, runtime: RuntimeDep, policies: PoliciesDep,
                              principal: CurrentPrincipal, idempotency_key: IdempotencyKeyHeader = None) -> Any:
    require_role(principal, Role.operator)
    from onestop.rules.service import amended_source

    items = [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in body.items]
    filename, text = amended_source(policies, region_code, "catalogue", items, "code", body.valid_from)
    return await publish_text(runtime, policies, principal, idempotency_key, filename, text,
                              request_hash("POST", f"/v1/catalogue/{region_code}/items", body.model_dump(mode="json")))

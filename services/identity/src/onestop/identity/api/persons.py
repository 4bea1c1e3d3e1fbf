"""GET /v1/persons/{person_id}, GET /v1/persons/{person_id}/name and GET /v1/access-audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.pagination import Page, PageDep, PageRequest, invalid_cursor
from onestop.common.ratelimit import RateLimited
from onestop.contracts.enums import Role
from onestop.identity.api.deps import RuntimeDep
from onestop.identity.persons.service import name_of, view
from onestop.identity.store import audit

router = APIRouter(prefix="/v1", tags=["persons"], dependencies=[RateLimited])


@router.get("/persons/{person_id}", summary="A person's statuses; history for operators and the region's bureau")
async def get_person(person_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return await view(runtime, principal, person_id)


class PersonNameRead(BaseModel):
    person_id: str
    name: str | None
    id_number_masked: str


@router.get("/persons/{person_id}/name", response_model=PersonNameRead,
            summary="The full name and masked ID number a printed document shows (services only)",
            description="The `service` role only (SERVICE_GRANTS opens it to the ledger, which prints the "
                        "patient's documents and keeps no name). Each read is in the access audit with the "
                        "calling service as subject. `name` is null when no register gave one.")
async def get_person_name(person_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return await name_of(runtime, principal, person_id)


class AuditEntryRead(BaseModel):
    at: str
    subject: str
    role: str
    person_id: str | None
    endpoint: str
    detail: str | None


@router.get("/access-audit", summary="Who read whose data (operators), newest first (paginated)",
            response_model=Page[AuditEntryRead])
async def get_access_audit(runtime: RuntimeDep, principal: CurrentPrincipal, page: PageDep,
                           person_id: uuid.UUID | None = None,
                           subject: Annotated[str | None, Query(max_length=255)] = None,
                           since: datetime | None = None) -> Any:
    require_role(principal, Role.operator)
    async with runtime.db.transaction() as session:
        rows = await audit.query(session, person_id=str(person_id) if person_id else None, subject=subject,
                                 since=since, limit=page.limit + 1, before=_audit_after(page))
    items, next_cursor = page.of(rows, lambda r: (r["at"].isoformat(), r["id"]))
    return Page[AuditEntryRead](items=[AuditEntryRead(
        at=r["at"].isoformat(), subject=r["subject"], role=r["role"],
        person_id=str(r["person_id"]) if r["person_id"] else None, endpoint=r["endpoint"], detail=r["detail"])
        for r in items], next_cursor=next_cursor)


def _audit_after(page: PageRequest) -> tuple[datetime, int] | None:
    """The (at, id) of the previous page's last row, from the cursor."""
    key = page.after((str, int))
    if key is None:
        return None
    try:
        at = datetime.fromisoformat(str(key[0]))
    except ValueError:
        raise invalid_cursor() from None
    if at.tzinfo is None:
        raise invalid_cursor()
    return at, int(key[1])

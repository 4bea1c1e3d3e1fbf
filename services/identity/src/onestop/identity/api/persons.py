"""GET /v1/persons/{person_id} and GET /v1/access-audit."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.ratelimit import RateLimited
from onestop.contracts.enums import Role
from onestop.identity.api.deps import RuntimeDep
from onestop.identity.persons.service import view
from onestop.identity.store import audit

router = APIRouter(prefix="/v1", tags=["persons"], dependencies=[RateLimited])


@router.get("/persons/{person_id}", summary="A person's statuses; history for operators and the region's bureau")
async def get_person(person_id: str, runtime: RuntimeDep, principal: CurrentPrincipal) -> Any:
    return await view(runtime, principal, person_id)


@router.get("/access-audit", summary="Who read whose data (operators)")
async def get_access_audit(runtime: RuntimeDep, principal: CurrentPrincipal,
                           person_id: uuid.UUID | None = None,
                           subject: Annotated[str | None, Query(max_length=255)] = None,
                           since: datetime | None = None,
                           limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Any:
    require_role(principal, Role.operator)
    async with runtime.db.transaction() as session:
        rows = await audit.query(session, person_id=str(person_id) if person_id else None, subject=subject,
                                 since=since, limit=limit)
    return [{"at": r["at"].isoformat(), "subject": r["subject"], "role": r["role"],
             "person_id": str(r["person_id"]) if r["person_id"] else None, "endpoint": r["endpoint"],
             "detail": r["detail"]} for r in rows]

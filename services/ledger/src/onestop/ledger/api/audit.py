"""GET /v1/access-audit: who read whose stay or settlement (operators), newest first, with a cursor."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query

from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.openapi import problem_responses
from onestop.common.pagination import PageDep
from onestop.contracts.enums import Role
from onestop.ledger.api.deps import RuntimeDep
from onestop.ledger.store import audit

router = APIRouter(prefix="/v1", tags=["access audit"])


@router.get("/access-audit", summary="Who read whose stay or settlement (operators), newest first",
            description="One row per read of a stay, its statements or settlements, and per list request (naming "
                        "its filter). Filters: `person_ref`, `subject`, `stay_id`.",
            responses=problem_responses(403, 422))
async def get_access_audit(runtime: RuntimeDep, principal: CurrentPrincipal, page: PageDep,
                           person_ref: uuid.UUID | None = None, stay_id: uuid.UUID | None = None,
                           subject: Annotated[str | None, Query(min_length=1, max_length=255)] = None) -> Any:
    require_role(principal, Role.operator)
    after = page.after((int,))
    async with runtime.db.transaction() as session:
        rows = await audit.query(session, person_ref=str(person_ref) if person_ref else None, subject=subject,
                                 stay_id=str(stay_id) if stay_id else None,
                                 before_id=int(after[0]) if after else None, limit=page.limit + 1)
    items, next_cursor = page.of(rows, lambda r: (r["id"],))
    return {"items": [{"at": r["at"].isoformat(), "subject": r["subject"], "role": r["role"],
                       "hospital_code": r["hospital_code"], "stay_id": r["stay_id"], "person_ref": r["person_ref"],
                       "endpoint": r["endpoint"], "detail": r["detail"]} for r in items],
            "next_cursor": next_cursor}

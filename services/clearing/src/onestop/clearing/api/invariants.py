"""GET /v1/invariants: the books balance (operator or service)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from onestop.clearing.domain.invariants import checks
from onestop.clearing.store import books
from onestop.common.auth import CurrentPrincipal, require_role
from onestop.common.openapi import problem_responses
from onestop.common.service_app import Runtime, runtime_of
from onestop.contracts.enums import Role

router = APIRouter(prefix="/v1", tags=["books"])


@router.get("/invariants", summary="Debits equal credits per transfer and overall; each balance is the sum of "
            "its postings", responses=problem_responses(401, 403))
async def invariants(principal: CurrentPrincipal, runtime: Annotated[Runtime, Depends(runtime_of)]) -> dict[str, Any]:
    """`{"ok", "balanced", "checks": [{"name", "ok", "detail", "counterexamples"}]}` over one snapshot."""
    require_role(principal, Role.operator, Role.service)
    async with runtime.db.transaction() as session:
        await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        verdicts = checks(await books.totals(session))
    ok = all(c.ok for c in verdicts)
    return {"ok": ok, "balanced": ok, "checks": [c.as_dict() for c in verdicts]}

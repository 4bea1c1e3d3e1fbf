"""Who may import, and reading an import's run and report (audited)."""

from __future__ import annotations

import uuid
from typing import Any

from onestop.common.auth import Principal, require_role
from onestop.common.errors import Forbidden, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.identity.imports import files
from onestop.identity.imports.service import INLINE_REJECTIONS, SOURCES, answer
from onestop.identity.store import audit
from onestop.identity.store import imports as runs


def authorise_import(principal: Principal, source: str, region_code: str | None) -> str | None:
    """Imports are the registers' owners' work: an operator, or a bureau within its region. The import's scope."""
    require_role(principal, Role.operator, Role.bureau)
    if source not in SOURCES:
        raise InvalidInput("unknown source", errors=[field_error("source", "must be one of: " + ", ".join(SOURCES))])
    if principal.role is Role.bureau:
        if region_code is not None and not principal.can_see_region(region_code):
            raise Forbidden("a bureau may only import for its own region")
        return region_code or principal.region_code
    return region_code


async def _run(session: Any, principal: Principal, import_id: str) -> dict[str, Any]:
    try:
        import_id = str(uuid.UUID(import_id))
    except ValueError:
        raise NotFound("no such import") from None
    run = await runs.get(session, import_id)
    if run is None:
        raise NotFound("no such import")
    require_role(principal, Role.operator, Role.bureau)
    if principal.role is Role.bureau and not (run["region_code"] and principal.can_see_region(run["region_code"])):
        raise Forbidden("this import belongs to another region")
    return run


async def read(runtime: Runtime, principal: Principal, import_id: str) -> dict[str, Any]:
    """The run with its first rejections; the read is audited."""
    async with runtime.db.transaction() as session:
        run = await _run(session, principal, import_id)
        inline = await runs.rejections(session, run["import_id"], INLINE_REJECTIONS)
        await audit.record(session, principal, person_id=None, endpoint="GET /v1/imports/{import_id}",
                           detail=f"import {run['import_id']}")
    return answer(run, inline)


async def report(runtime: Runtime, principal: Principal, import_id: str) -> str:
    """The full row-level report as CSV (with a BOM, so Excel reads the Chinese); the read is audited."""
    async with runtime.db.transaction() as session:
        run = await _run(session, principal, import_id)
        errors = await runs.rejections(session, run["import_id"])
        await audit.record(session, principal, person_id=None, endpoint="GET /v1/imports/{import_id}/report.csv",
                           detail=f"import {run['import_id']}")
    return files.report_csv(errors, excel=True)

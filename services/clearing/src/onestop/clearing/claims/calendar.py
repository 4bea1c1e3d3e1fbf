"""Joint review (定期联审, 003 二(三)3) and the automatic claims of the policy's calendar.

- A joint review shows every fund's claims of one hospital and month side by side; it is `closed` when each fund
  has decided its own (no claim of that month still submitted).
- Automatic claims: on or after `claims.apply_by_day` of a month (rules' operations; every policy has 10 today),
  each hospital × fund with unclaimed legs of the previous month gets its claim; a fund whose claim is still
  open is left alone. The daily scheduler or `POST /v1/claim-runs` (operator) calls `run`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.claims import service
from onestop.clearing.store import claims as store
from onestop.common.auth import Principal
from onestop.common.errors import Conflict, Forbidden
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role

SCHEDULER = Principal(subject="clearing-claim-runs", role=Role.operator)  # the scheduler acts as the operator


def previous_month(on: date) -> str:
    """YYYYMM of the month before `on`."""
    return f"{on.year - 1}12" if on.month == 1 else f"{on.year}{on.month - 1:02d}"


async def joint_review(session: AsyncSession, principal: Principal, hospital_code: str, setlym: str) -> dict[str, Any]:
    """Every fund's claims of the hospital and month, withdrawn ones left out."""
    if principal.role is Role.hospital and principal.hospital_code != hospital_code:
        raise Forbidden("a hospital sees its own joint review")
    if principal.role not in (Role.hospital, Role.operator, Role.bureau, Role.service):
        raise Forbidden("a joint review is for the hospital, its bureau and operators")
    rows = [r for r in await store.claims_of_hospital_month(session, hospital_code, setlym)
            if principal.role is not Role.bureau or principal.can_see_region(r.region_code)]
    claims = [await service.read(session, r.id) for r in rows]
    for c in claims:
        c.pop("items"), c.pop("settlements")  # side by side: the totals; each claim's items are one GET away
    return {"hospital_code": hospital_code, "setlym": setlym, "claims": claims,
            "closed": bool(claims) and all(c["status"] == "decided" for c in claims)}


async def run(runtime: Runtime, session: AsyncSession, as_of: date, apply_by_day: int) -> dict[str, Any]:
    """Create each due claim of the month before `as_of`; the funds skipped say why."""
    setlym = previous_month(as_of)
    if as_of.day < apply_by_day:
        return {"setlym": setlym, "due": False, "created": [], "skipped": []}
    created, skipped = [], []
    for f in await store.due_funds(session, setlym):
        try:
            async with session.begin_nested():  # a fund refused leaves the others' claims standing
                answer = await service.submit(runtime, SCHEDULER, session, hospital_code=f.hospital_code,
                                              payer=f.payer, region_code=f.region_code, setlym=setlym)
        except Conflict as exc:
            skipped.append({"hospital_code": f.hospital_code, "payer": f.payer, "region_code": f.region_code,
                            "reason": exc.detail})
            continue
        created.append(answer["claim_id"])
    return {"setlym": setlym, "due": True, "created": created, "skipped": skipped}




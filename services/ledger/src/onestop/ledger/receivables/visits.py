"""The home visit (入户走访, 000 §3.3: 乡镇（街道）、村组织入户核实) an overdue plan leads to, and what follows it.

The ledger owns the visit and its outcome. The county bureau lists its region's tasks, assigns each to a township
and records the outcome with its bureau token; `ledger.repayment.visit_recorded.v1` tells identity, whose
suspected-default case follows: `unable_to_pay` dismisses it, `suspected_malicious_default` leaves it, with the
visit date, for an operator to decide. After `unable_to_pay` the debt is renegotiated (a plan naming the one it
replaces), referred to charity (a reversal and re-settlement with `confirmed_unable_to_pay`, the 002 one-off
grant, where it is the person's latest settlement: the reversal enforces that) or written off by an operator.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import now, today
from onestop.common.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from onestop.common.pagination import PageRequest
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import ReceivableWrittenOff, VisitRecorded
from onestop.contracts.money import format_fen
from onestop.contracts.regions import significant_digits
from onestop.ledger.domain.payments import Balance
from onestop.ledger.stays.service import check_scope, get_row
from onestop.ledger.store import checks, payments, plans


async def list_visits(session: AsyncSession, principal: Principal, page: PageRequest, *, region_code: str | None,
                      state: str | None) -> dict[str, Any]:
    """A bureau lists its region's tasks (a city or province those of its counties), a hospital its own, an
    operator any."""
    require_role(principal, Role.bureau, Role.hospital, Role.operator)
    hospital_code = None
    if principal.role is Role.hospital:
        hospital_code = principal.hospital_code
    elif principal.role is Role.bureau:
        region_code = region_code or principal.region_code
        if region_code is None or not principal.can_see_region(region_code):
            raise Forbidden("visits of another region")
    prefix = region_code[:significant_digits(region_code)] if region_code else None
    after = page.after((int,))
    rows = await checks.visits(session, region_prefix=prefix, hospital_code=hospital_code, state=state,
                               after_seq=int(after[0]) if after else None, limit=page.limit + 1)
    items, next_cursor = page.of(rows, lambda r: (r["seq"],))
    return {"items": [view(r) for r in items], "next_cursor": next_cursor}


async def _visit(session: AsyncSession, principal: Principal, visit_id: str) -> dict[str, Any]:
    require_role(principal, Role.bureau, Role.operator)
    try:
        visit_id = str(uuid.UUID(visit_id))
    except ValueError:
        raise NotFound("no such visit") from None
    row = await checks.visit_for_update(session, visit_id)
    if row is None or not (principal.role is Role.operator or principal.can_see_region(row["region_code"])):
        raise NotFound("no such visit")
    return row


async def assign(session: AsyncSession, principal: Principal, visit_id: str,
                 township: str) -> tuple[int, dict[str, Any]]:
    """The county bureau gives the task to a township (乡镇/街道); reassigning before the outcome is allowed."""
    row = await _visit(session, principal, visit_id)
    if row["state"] == "recorded":
        raise Conflict("the visit's outcome is recorded")
    values = {"state": "assigned", "township": township, "assigned_by": principal.subject, "assigned_at": now()}
    await checks.update_visit(session, row["visit_id"], **values)
    return 200, view({**row, **values})


async def record(runtime: Runtime, session: AsyncSession, principal: Principal, visit_id: str, *, outcome: str,
                 visited_on: date, note: str | None) -> tuple[int, dict[str, Any]]:
    row = await _visit(session, principal, visit_id)
    if row["state"] == "recorded":
        raise Conflict("the visit's outcome is already recorded", outcome=row["outcome"])
    if visited_on > today():
        raise InvalidInput("the visit cannot be in the future", errors=[field_error("visited_on", "in the future")])
    if visited_on < row["created_at"].date():
        raise InvalidInput("the visit is before its task", errors=[field_error("visited_on", "before the task")])
    at = now()
    values = {"state": "recorded", "outcome": outcome, "visited_on": visited_on, "note": note,
              "recorded_by": principal.subject, "recorded_at": at}
    await checks.update_visit(session, row["visit_id"], **values)
    await runtime.outbox.add(session, VisitRecorded(
        visit_id=row["visit_id"], plan_id=row["plan_id"], stay_id=row["stay_id"], person_ref=row["person_ref"],
        region_code=row["region_code"], hospital_code=row["hospital_code"], outcome=outcome,  # type: ignore[arg-type]
        visited_on=visited_on, recorded_at=at))
    return 200, view({**row, **values})


async def write_off(runtime: Runtime, principal: Principal, session: AsyncSession, stay_id: str,
                    reason: str) -> tuple[int, dict[str, Any]]:
    """An operator writes off what is owed (confirmed unable to pay); the plan ends as written off."""
    require_role(principal, Role.operator)
    stay = await get_row(session, stay_id, for_update=True)
    check_scope(principal, stay, change=True)
    if stay["state"] != "settled":
        raise Conflict("only what a settled stay leaves owing is written off", stay_state=stay["state"])
    owed = Balance(*await payments.balance(session, stay_id)).owed
    if owed == 0:
        raise Conflict("nothing is owed", owed="0.00")
    plan = await plans.active(session, stay_id)
    row = {"write_off_id": str(uuid.uuid4()), "stay_id": stay_id, "amount_fen": owed, "reason": reason,
           "written_off_by": principal.subject, "written_off_at": now()}
    await payments.write_off_owed(session, row)
    if plan is not None:
        await plans.end(session, plan["plan_id"], "written_off")
    await runtime.outbox.add(session, ReceivableWrittenOff(
        write_off_id=row["write_off_id"], stay_id=stay_id, plan_id=plan["plan_id"] if plan else None,
        person_ref=stay["person_ref"], region_code=stay["insurance_region_code"],
        hospital_code=stay["hospital_code"], amount=format_fen(owed),  # type: ignore[arg-type]
        written_off_at=row["written_off_at"]))
    return 201, {"write_off_id": row["write_off_id"], "stay_id": stay_id, "amount": format_fen(owed),
                 "plan_id": plan["plan_id"] if plan else None, "reason": reason,
                 "written_off_by": principal.subject, "written_off_at": row["written_off_at"].isoformat()}


def view(row: dict[str, Any]) -> dict[str, Any]:
    """A visit task as answered (the visitor's note is shown to those who may see the task, never published)."""
    def iso(v: Any) -> Any:
        return v.isoformat() if v is not None else None

    return {"visit_id": row["visit_id"], "plan_id": row["plan_id"], "stay_id": row["stay_id"],
            "person_ref": row["person_ref"], "region_code": row["region_code"], "hospital_code": row["hospital_code"],
            "overdue": format_fen(row["overdue_fen"]), "due_date": iso(row["due_date"]), "state": row["state"],
            "township": row["township"], "assigned_at": iso(row["assigned_at"]), "outcome": row["outcome"],
            "visited_on": iso(row["visited_on"]), "note": row["note"], "recorded_by": row["recorded_by"],
            "recorded_at": iso(row["recorded_at"]), "created_at": iso(row["created_at"])}

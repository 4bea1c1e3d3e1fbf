"""The repayment plan (延期、分期还款协议, 000 §3: 签订延期还款协议; 001 三(三)): a patient who cannot pay their share
at discharge signs instalments with due dates that add up to what is owed; payments through `payments` pay the
oldest instalment first. A plan renegotiated (after a home visit, 000 §3.3) names the one it replaces, which is
kept as history; the new one covers what is owed then.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import as_shanghai, now, today
from onestop.common.errors import Conflict, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import InstalmentTerms, RepaymentPlanSigned
from onestop.contracts.money import format_fen
from onestop.ledger.agreements.custody import return_when_due
from onestop.ledger.clients import RulesClient
from onestop.ledger.domain.payments import Balance
from onestop.ledger.domain.plans import Instalment, problems, statuses
from onestop.ledger.stays.service import audited_read, check_scope, get_row
from onestop.ledger.store import payments, plans


async def sign(runtime: Runtime, principal: Principal, session: AsyncSession, stay_id: str, *,
               instalments: list[tuple[date, int]], relation: str,
               replaces: str | None) -> tuple[int, dict[str, Any]]:
    require_role(principal, Role.hospital, Role.operator)
    stay = await get_row(session, stay_id, for_update=True)
    check_scope(principal, stay, change=True)
    if stay["state"] != "settled":
        raise Conflict("a repayment plan is for what is owed after the settlement", stay_state=stay["state"])
    active = await plans.active(session, stay_id)
    if active is not None and replaces != active["plan_id"]:
        raise Conflict("the stay has a plan: a renegotiated plan names it in replaces_plan_id",
                       plan_id=active["plan_id"])
    if active is None and replaces is not None:
        raise Conflict("no active plan to replace", errors=[field_error("replaces_plan_id", "not the active plan")])
    due, paid = await payments.balance(session, stay_id)
    owed = Balance(due, paid).owed
    if owed == 0:
        raise Conflict("nothing is owed", owed="0.00")
    settled_on = as_shanghai(stay["discharged_at"]).date() if stay["discharged_at"] else stay["settled_through"]
    wrong = problems(instalments, owed, settled_on, today())
    if wrong:
        raise InvalidInput("the instalments are not a plan for what is owed", owed=format_fen(owed),
                           errors=[field_error(f, r) for f, r in wrong])
    plan_id, at = str(uuid.uuid4()), now()
    terms = [Instalment(i + 1, d, a) for i, (d, a) in enumerate(instalments)]
    row = {"plan_id": plan_id, "stay_id": stay_id, "hospital_code": stay["hospital_code"],
           "person_ref": stay["person_ref"], "insurance_region_code": stay["insurance_region_code"],
           "state": "active", "amount_fen": owed, "paid_before_fen": paid, "replaces": replaces,
           "replaced_by": None, "signer_relation": relation, "signed_by": principal.subject, "signed_at": at}
    if active is not None:
        await plans.replace(session, active["plan_id"], plan_id)
    await plans.add(session, row, terms)
    await runtime.outbox.add(session, RepaymentPlanSigned(
        plan_id=plan_id, stay_id=stay_id, person_ref=stay["person_ref"], region_code=stay["insurance_region_code"],
        hospital_code=stay["hospital_code"], amount=format_fen(owed),  # type: ignore[arg-type]
        instalments=[InstalmentTerms(number=x.number, due_date=x.due_date, amount=format_fen(x.amount))  # type: ignore[arg-type]
                     for x in terms],
        replaces_plan_id=replaces, signer_relation=relation, signed_at=at))
    out = await _view(session, row, paid, today())
    rules: RulesClient = runtime.extras["rules"]
    returned_on = await rules.documents_returned_on(stay["insurance_region_code"], today())
    out["documents_returned"] = await return_when_due(runtime, session, stay, returned_on=returned_on,
                                                      event="signed_plan", actor=principal.subject, to=relation)
    return 201, out


async def read(session: AsyncSession, principal: Principal, stay_id: str, as_of: date | None = None) -> dict[str, Any]:
    """The stay's current plan with each instalment's status, and the plans it replaced (newest first)."""
    await audited_read(session, principal, stay_id, "GET /v1/stays/{stay_id}/repayment-plan")
    rows = await plans.of_stay(session, stay_id)
    if not rows:
        raise NotFound("the stay has no repayment plan")
    _due, paid = await payments.balance(session, stay_id)
    current = await _view(session, rows[0], paid, as_of or today())
    current["history"] = [{"plan_id": r["plan_id"], "state": r["state"], "amount": format_fen(r["amount_fen"]),
                           "replaced_by": r["replaced_by"], "signed_at": r["signed_at"].isoformat(),
                           "instalments": [{"number": x.number, "due_date": x.due_date.isoformat(),
                                            "amount": format_fen(x.amount)}
                                           for x in await plans.instalments(session, r["plan_id"])]}
                          for r in rows[1:]]
    return current


async def _view(session: AsyncSession, row: dict[str, Any], paid: int, as_of: date) -> dict[str, Any]:
    towards = paid - row["paid_before_fen"]
    items = statuses(await plans.instalments(session, row["plan_id"]), towards, as_of)
    state = row["state"]
    if state == "active" and all(x.status == "paid" for x in items):
        state = "paid"
    return {"plan_id": row["plan_id"], "stay_id": row["stay_id"], "state": state,
            "amount": format_fen(row["amount_fen"]), "paid": format_fen(max(min(towards, row["amount_fen"]), 0)),
            "owed": format_fen(max(row["amount_fen"] - towards, 0)), "as_of": as_of.isoformat(),
            "replaces": row["replaces"], "signer": {"relation": row["signer_relation"]},
            "signed_by": row["signed_by"], "signed_at": row["signed_at"].isoformat(),
            "instalments": [{"number": x.number, "due_date": x.due_date.isoformat(), "amount": format_fen(x.amount),
                             "paid": format_fen(x.paid), "status": x.status} for x in items]}

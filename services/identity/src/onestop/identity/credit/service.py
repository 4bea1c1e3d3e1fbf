"""Use cases of the credit blacklist (诚信黑名单): open a case, decide it after the household visit, lift it.

Every transition is kept (credit_case_event); a blacklisting and a lift are published as
`identity.credit.changed.v2` — the credit feed 司法/金融/征信 follow (004 二(四)) — with a reason code,
never the operator's words. A feed subscriber resolves the person through `resolve_for_feed` (audited).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Literal

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import now, today
from onestop.common.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import CreditReason, Role
from onestop.contracts.events.identity import CreditChanged
from onestop.contracts.events.ledger import RepaymentOverdue, VisitRecorded
from onestop.contracts.regions import scope_region
from onestop.identity.domain import id_number as idn
from onestop.identity.domain.pii import PiiCipher
from onestop.identity.rules_client import RuleBook
from onestop.identity.store import audit, credit, persons

log = structlog.get_logger("onestop.identity.credit")

State = Literal["suspected", "blacklisted", "lifted", "dismissed"]


async def _scope(runtime: Runtime, region_code: str) -> tuple[str, bool]:
    """The region a blacklisting reaches and whether it blocks direct settlement, from the region's rule."""
    book: RuleBook = runtime.extras["rulebook"]
    try:
        rif = await book.rule(region_code, today())
    except Exception:  # rules away: the event still goes out, scoped to the case's own region
        rif = None
    if rif is None:
        return region_code, False
    return scope_region(region_code, rif.rule.blacklist_scope), rif.rule.blacklist_blocks_direct_settlement


async def _transition(runtime: Runtime, session: AsyncSession, case: dict[str, Any], state: State, reason: str,
                      actor: str, scope: tuple[str, bool], household_visit_on: date | None = None,
                      reason_code: CreditReason | None = None) -> None:
    await credit.set_state(session, case["case_id"], state)
    await credit.add_event(session, case_id=case["case_id"], state=state, reason=reason, actor=actor,
                           household_visit_on=household_visit_on,
                           reason_code=reason_code.value if reason_code else None)
    if state in ("blacklisted", "lifted"):
        # Only decisions go to the feed (004 二(四): 司法、金融、征信 are told of malicious defaulters), with a
        # code and the deciding region; a suspicion, a dismissal and the operator's words stay in identity.
        assert reason_code is not None
        await runtime.outbox.add(session, CreditChanged(
            person_id=case["person_id"], region_code=case["region_code"], case_id=case["case_id"], state=state,
            reason_code=reason_code, scope_region_code=scope[0],
            blocks_direct_settlement=scope[1] and state == "blacklisted", changed_at=now()))


async def _open(runtime: Runtime, session: AsyncSession, *, person_id: str, region_code: str, origin: str,
                plan_id: str | None, reason: str, actor: str, scope: tuple[str, bool]) -> dict[str, Any] | None:
    """Open a suspected case unless the person already has an open one (then None)."""
    await credit.lock_person(session, person_id)
    if await credit.open_case_of(session, person_id) is not None:
        return None
    case = {"case_id": str(uuid.uuid4()), "person_id": person_id, "region_code": region_code}
    await credit.create(session, case_id=case["case_id"], person_id=person_id, region_code=region_code,
                        origin=origin, plan_id=plan_id)
    await _transition(runtime, session, case, "suspected", reason, actor, scope)
    return case


async def read(session: AsyncSession, case_id: str) -> dict[str, Any]:
    """A case with its history, as answered over HTTP."""
    case = await credit.get(session, case_id)
    if case is None:
        raise NotFound("no such credit case")
    history = await credit.history(session, case_id)
    return {
        "case_id": case["case_id"], "person_id": case["person_id"], "region_code": case["region_code"],
        "state": case["state"], "origin": case["origin"], "plan_id": case["plan_id"],
        "opened_at": case["opened_at"].isoformat(),
        "history": [{"state": h["state"], "reason": h["reason"], "reason_code": h["reason_code"], "actor": h["actor"],
                     "at": h["at"].isoformat(),
                     "household_visit_on": h["household_visit_on"].isoformat() if h["household_visit_on"] else None}
                    for h in history],
    }


def _check_operator(principal: Principal, region_code: str) -> None:
    require_role(principal, Role.operator, Role.bureau)
    if not principal.can_see_region(region_code):
        raise Forbidden("this case belongs to another region")


async def open_by_operator(runtime: Runtime, principal: Principal, session: AsyncSession, *, id_number: str,
                           region_code: str, reason: str) -> tuple[int, dict[str, Any]]:
    """An operator reports a suspected malicious default for a person given by ID number."""
    try:
        number = idn.normalize(id_number, today=today())
        idn.check_region_code(region_code)
    except idn.InvalidIdNumber as exc:
        raise InvalidInput(f"invalid {exc.field}", errors=[field_error(exc.field, exc.reason)]) from None
    _check_operator(principal, region_code)
    cipher: PiiCipher = runtime.extras["pii"]
    person_id = await persons.find_by_index(session, cipher.blind_index(number))
    if person_id is None:
        raise NotFound("no person with this ID number is on any register")
    scope = await _scope(runtime, region_code)
    case = await _open(runtime, session, person_id=str(person_id), region_code=region_code, origin="operator",
                       plan_id=None, reason=reason, actor=principal.subject, scope=scope)
    if case is None:
        raise Conflict("this person already has an open credit case")
    return 201, await read(session, case["case_id"])


async def open_from_overdue(runtime: Runtime, session: AsyncSession, event: RepaymentOverdue) -> None:
    """The ledger reports an overdue instalment: open a suspected case (once per person while one is open)."""
    try:
        person_id = str(uuid.UUID(event.person_ref))
    except ValueError:
        person_id = None
    if person_id is None or await persons.get(session, person_id) is None:
        # a domain error, not a silent drop: the consumer parks the event for an operator (GET /v1/parked-events)
        raise NotFound(f"the overdue event of plan {event.plan_id} names a person identity does not know")
    reason = (f"还款计划逾期{event.days_overdue}天，逾期金额{event.overdue_amount}元（{event.hospital_code}），"
              "疑似恶意逃费，待入户核实")
    scope = await _scope(runtime, event.region_code)
    await _open(runtime, session, person_id=person_id, region_code=event.region_code, origin="ledger",
                plan_id=event.plan_id, reason=reason, actor="service:ledger", scope=scope)


async def follow_visit(runtime: Runtime, session: AsyncSession, event: VisitRecorded) -> None:
    """The ledger recorded the home visit of an overdue plan (000 §3.3): `unable_to_pay` dismisses the suspected
    case; `suspected_malicious_default` leaves it suspected, with the visit date in its history, for an operator to
    decide; `will_pay` is noted. No open case of the plan (decided meanwhile by an operator): nothing to follow."""
    case = await credit.suspected_of_plan(session, event.plan_id)
    if case is None:
        return
    case["case_id"], case["person_id"] = str(case["case_id"]), str(case["person_id"])
    if event.outcome == "unable_to_pay":
        scope = await _scope(runtime, case["region_code"])
        await _transition(runtime, session, case, "dismissed", "入户走访核实：确无支付能力", "service:ledger", scope,
                          event.visited_on)
        return
    reason = ("入户走访核实：疑似恶意逃费，待决定" if event.outcome == "suspected_malicious_default"
              else "入户走访：患者承诺还款")
    await credit.add_event(session, case_id=case["case_id"], state="suspected", reason=reason,
                           actor="service:ledger", household_visit_on=event.visited_on)


async def decide_case(runtime: Runtime, principal: Principal, session: AsyncSession, case_id: str, *,
                      decision: Literal["blacklist", "dismiss"], reason: str,
                      household_visit_on: date | None,
                      reason_code: CreditReason = CreditReason.malicious_default) -> tuple[int, dict[str, Any]]:
    """Blacklist or dismiss a suspected case after the household visit (000 §3.3)."""
    case = await _case(session, case_id)
    _check_operator(principal, case["region_code"])
    if case["state"] != "suspected":
        raise Conflict(f"the case is {case['state']}; only a suspected case can be decided")
    if decision == "blacklist" and household_visit_on is None:
        raise InvalidInput("a blacklisting needs the date of the household visit",
                           errors=[field_error("household_visit_on", "required when blacklisting (000 §3.3)")])
    if household_visit_on is not None and household_visit_on > today():
        raise InvalidInput("the household visit cannot be in the future",
                           errors=[field_error("household_visit_on", "date is in the future")])
    scope = await _scope(runtime, case["region_code"])
    state: State = "blacklisted" if decision == "blacklist" else "dismissed"
    await _transition(runtime, session, case, state, reason, principal.subject, scope, household_visit_on,
                      reason_code if state == "blacklisted" else None)
    return 200, await read(session, case_id)


async def lift_case(runtime: Runtime, principal: Principal, session: AsyncSession, case_id: str, *,
                    reason: str, reason_code: CreditReason = CreditReason.other) -> tuple[int, dict[str, Any]]:
    """Lift a blacklisting (e.g. after repayment)."""
    case = await _case(session, case_id)
    _check_operator(principal, case["region_code"])
    if case["state"] != "blacklisted":
        raise Conflict(f"the case is {case['state']}; only a blacklisting can be lifted")
    scope = await _scope(runtime, case["region_code"])
    await _transition(runtime, session, case, "lifted", reason, principal.subject, scope, reason_code=reason_code)
    return 200, await read(session, case_id)


async def _case(session: AsyncSession, case_id: str) -> dict[str, Any]:
    try:
        case_id = str(uuid.UUID(case_id))
    except ValueError:
        raise NotFound("no such credit case") from None
    case = await credit.get_for_update(session, case_id)
    if case is None:
        raise NotFound("no such credit case")
    case["case_id"], case["person_id"] = str(case["case_id"]), str(case["person_id"])
    return case


async def get_case(runtime: Runtime, principal: Principal, case_id: str) -> dict[str, Any]:
    """A case with its history, for operators and the region's bureau."""
    async with runtime.db.transaction() as session:
        case = await _case(session, case_id)
        _check_operator(principal, case["region_code"])
        return await read(session, case["case_id"])


FEED_ENDPOINT = "GET /v1/credit-feed/{case_id}/person"


async def resolve_for_feed(runtime: Runtime, principal: Principal, case_id: str) -> dict[str, Any]:
    """The ID number and name a feed entry (a blacklisting or a lift) names, for a `credit_feed` token of a
    region the case lies in; every resolution is audited. Cases never in the feed (suspected, dismissed) are 404."""
    require_role(principal, Role.credit_feed)
    try:
        case_id = str(uuid.UUID(case_id))
    except ValueError:
        raise NotFound("no such credit-feed entry") from None
    cipher: PiiCipher = runtime.extras["pii"]
    async with runtime.db.transaction() as session:
        case = await credit.get(session, case_id)
        if case is None or case["state"] not in ("blacklisted", "lifted"):
            raise NotFound("no such credit-feed entry")
        if not principal.can_see_region(case["region_code"]):
            raise Forbidden("this entry belongs to another region's feed")
        person_id = str(case["person_id"])
        person = await persons.get(session, person_id)
        profiles = await persons.profiles(session, person_id)
        await audit.record(session, principal, person_id=person_id, endpoint=FEED_ENDPOINT, detail=f"case {case_id}")
    current = next((pr for pr in profiles if pr["superseded_at"] is None), None)
    assert person is not None  # a case is only opened for a stored person
    return {
        "case_id": case_id, "person_id": person_id, "state": case["state"], "region_code": case["region_code"],
        "id_number": cipher.decrypt(person["id_cipher"]),
        "name": cipher.decrypt(current["name_cipher"]) if current and current["name_cipher"] else None,
    }

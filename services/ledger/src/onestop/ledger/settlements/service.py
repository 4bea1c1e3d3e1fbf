"""The one-stop settlement (一站式结算), a mid-stay part (中途结算) and the reversal (结算撤销, NHSA 2305).

A settlement asks rules for the final quote over NATS before it takes any lock or writes anything (rules down:
503, nothing written), then in one short transaction locks the stay and the person-year's accumulators; if
either moved since the quote (the stay's `lines_version`, the accumulators' `version`), it quotes again under the
locks, so two settlements of one person at two hospitals serialise and the second is quoted on the first's
result. It writes the settlement with its per-fund rows, applies the quote's delta to the accumulators, marks the
lines taken, closes the stay (a mid-stay part leaves it open) and puts `ledger.settlement.finalized.v1` in the
outbox. The Idempotency-Key is claimed for the whole request and its answer stored in that same transaction.

A reversal is a new settlement with every amount negated, generated from the original's rows; it restores the
accumulators by the negated delta, gives the lines back and reopens the stay. Only a settlement nothing was
computed on top of can be reversed: the person's latest of its year and the stay's latest part (409 naming them).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import as_shanghai, now
from onestop.common.errors import Conflict, InvalidInput, NotFound, Unavailable, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import FundAmount, SettlementFinalized, SettlementReversed
from onestop.contracts.money import format_fen, parse_yuan
from onestop.contracts.quote import AccumulatorDelta, Accumulators, apply_delta, negate
from onestop.ledger.agreements import lifecycle
from onestop.ledger.domain import bill
from onestop.ledger.domain.payments import Balance
from onestop.ledger.quotes import QuoteClient
from onestop.ledger.settlements.shape import shape
from onestop.ledger.stays.service import ask_identity, check_scope, get_row
from onestop.ledger.store import (
    accumulators,
    agreements,
    fees,
    payments,
    plans,
    settlement_lists,
    settlements,
    statements,
    stays,
)


@dataclass(frozen=True)
class Discharge:
    """What the HIS sends with a settlement (DESIGN §9.1); `through` alone for a mid-stay part."""

    at: datetime | None  # None for a mid-stay part
    through: date
    disease_code: str | None = None
    discharge_way: str | None = None
    confirmed_unable_to_pay: bool = False

    @property
    def final(self) -> bool:
        return self.at is not None


@dataclass
class _Draft:
    """Everything read before the quote, and the quote itself."""

    stay: dict[str, Any]
    part: bill.Part
    lines: list[bill.Line]
    year: int
    acc_state: dict[str, Any]
    acc_version: int
    request: dict[str, Any]
    quote: dict[str, Any]


async def read_part(session: AsyncSession, principal: Principal | None, stay_id: str, d: Discharge, *,
                    field: str | None = None) -> tuple[
        dict[str, Any], bill.Part, list[bill.Line], int, dict[str, Any], int]:
    """The open stay, the part a settlement on `d` would take, its lines and the person-year's accumulators
    (read without a lock, for a quote); shared by the settlement, the estimate and the discharge notice.
    `principal` None is the ledger itself (its cost-alert consumer); `field` names the date in a refusal."""
    stay = await get_row(session, stay_id)
    if principal is not None:
        check_scope(principal, stay, change=True)
    if stay["state"] != "open":
        raise Conflict(f"the stay is {stay['state']}", stay_state=stay["state"])
    admitted_on = as_shanghai(stay["admitted_at"]).date()
    earlier = [bill.EarlierPart(p["through"], p["total_fen"], bill.deductible_borne(p["quote"]))
               for p in await settlements.standing_parts(session, stay_id)]
    part = bill.next_part(admitted_on, earlier, final=d.final)
    field = field or ("discharged_at" if d.final else "through")
    if d.through < part.starts_on:
        raise InvalidInput(f"{field} is before the part's first day",
                           errors=[field_error(field, f"before {part.starts_on.isoformat()}")])
    if d.through.year != part.starts_on.year:
        raise InvalidInput("the stay crosses 31 December: settle its part up to then first (mid-settlement)",
                           errors=[field_error(field, f"mid-settle through {part.starts_on.year}-12-31 first")])
    lines = bill.part_lines(await fees.live(session, stay_id), None if d.final else d.through)
    if d.final and any(x.occurred_on > d.through for x in lines):
        raise InvalidInput("a fee line is dated after the discharge",
                           errors=[field_error(field, "before the last fee line's date")])
    if not bill.net(lines):
        raise InvalidInput("nothing to settle: the stay (part) has no fee lines",
                           errors=[field_error("lines", "no unsettled fee line" +
                                               ("" if d.final else f" up to {d.through.isoformat()}"))])
    year = d.through.year
    state, version = await accumulators.read(session, stay["person_ref"], stay["newborn"], year)
    return stay, part, lines, year, state, version


def part_request(stay: dict[str, Any], part: bill.Part, lines: list[bill.Line], state: dict[str, Any],
                 d: Discharge) -> dict[str, Any]:
    """The quote request of a part `read_part` read."""
    return bill.quote_request(stay, bill.net(lines), state, on=d.through,
                              admitted_on=as_shanghai(stay["admitted_at"]).date(), part=part,
                              disease_code=d.disease_code or stay["disease_code"],
                              confirmed_unable_to_pay=d.confirmed_unable_to_pay)


async def _recheck(runtime: Runtime, stay: dict[str, Any], agreement: dict[str, Any], on: date) -> dict[str, Any]:
    """identity asked again as of the settlement date: the admission snapshot governs, a status that ended during
    the stay is recorded; identity unreachable → the settlement goes ahead, recorded as not re-checked."""
    try:
        answer = await ask_identity(runtime, agreement, stay["hospital_code"], on)
    except (Unavailable, Conflict) as exc:
        return {"checked": False, "date": on.isoformat(), "why": type(exc).__name__}
    before = set(stay["eligibility"].get("categories", []))
    now_categories = {c.value for c in answer.person.categories} if answer.person else set()
    return {"checked": True, "date": on.isoformat(), "eligible": answer.eligible,
            "ended": sorted(before - now_categories),
            "reasons": [{"code": r.code, "text_zh": r.text_zh} for r in answer.reasons]}


async def settle(runtime: Runtime, principal: Principal, stay_id: str, d: Discharge, *, key: str | None,
                 fingerprint: str) -> Any:
    require_role(principal, Role.hospital, Role.operator)
    quotes: QuoteClient = runtime.extras["quotes"]
    async with runtime.idempotency.claim(principal, key, fingerprint) as claim:
        if claim.stored is not None:
            return claim.stored
        async with runtime.db.transaction() as session:
            stay, part, lines, year, state, version = await read_part(session, principal, stay_id, d)
            agreement = await agreements.get(session, stay["agreement_id"])
        request = part_request(stay, part, lines, state, d)
        # identity and rules are asked at once: neither answer depends on the other, and no lock is held yet
        recheck, quote = await asyncio.gather(_recheck(runtime, stay, agreement, d.through), quotes.quote(request))
        draft = _Draft(stay, part, lines, year, state, version, request, quote)

        async def work(session: AsyncSession) -> tuple[int, dict[str, Any]]:
            return await _commit(runtime, principal, session, draft, d, recheck)

        return await claim.commit(work)


async def _commit(runtime: Runtime, principal: Principal, session: AsyncSession, draft: _Draft, d: Discharge,
                  recheck: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    stay_id = draft.stay["stay_id"]
    # The common case in two statements: the stay closed (its lock taken) and the accumulators written, each only
    # if unchanged since the quote. Either moved: the locking path below, which reads again and quotes again.
    stay, lines, quote = draft.stay, draft.lines, draft.quote
    closed = await stays.close_if_unchanged(
        session, stay_id, lines_version=stay["lines_version"], settled_through=stay["settled_through"],
        through=d.through, discharged_at=d.at, discharge_way=d.discharge_way)
    state, version = draft.acc_state, draft.acc_version
    if not (closed and await accumulators.write_if_unmoved(
            session, stay["person_ref"], stay["newborn"], draft.year, _applied(state, quote), version)):
        stay, lines, quote, version = await _locked(runtime, session, draft, d, closed)
    settlement_id = str(uuid.uuid4())
    at = now()
    row = _row(stay, draft.part, draft.year, d, quote, recheck, settlement_id, principal, at)
    # what was paid on account and not yet taken by an earlier part is credited against the patient's share
    # (分阶段付费, 001 三(二)); the stay's lock keeps payments out meanwhile
    row["on_account_fen"] = Balance(*await payments.balance(session, stay_id)).credit
    funds = fund_rows(quote)
    await settlements.add(session, row, funds)
    await fees.take(session, stay_id, [x.line_id for x in lines], settlement_id)
    await settlement_lists.record_lines(session, settlement_id, stay_id)
    if d.final:
        await lifecycle.end_with_stay(runtime, session, stay, reason="with_stay", at=at)
    await runtime.outbox.add(session, SettlementFinalized(**_facts(stay, row, funds)))  # type: ignore[arg-type]
    notice = await statements.latest_notice(session, stay_id, at_or_before=at) if d.final else None
    return 201, shape(row, funds, notice)


def _applied(state: dict[str, Any], quote: dict[str, Any]) -> dict[str, Any]:
    delta = AccumulatorDelta.model_validate(quote["delta"])
    return apply_delta(Accumulators.model_validate(state), delta).model_dump(mode="json")


async def _locked(runtime: Runtime, session: AsyncSession, draft: _Draft, d: Discharge, closed: bool) -> tuple[
        dict[str, Any], list[bill.Line], dict[str, Any], int]:
    """The bill (unless `closed`: then unchanged and locked) or the person's year moved while rules quoted: lock
    both, read again what moved and quote again under the locks; apply the delta and close the stay."""
    stay_id = draft.stay["stay_id"]
    stay, lines, quote = draft.stay, draft.lines, draft.quote
    if not closed:
        stay = await get_row(session, stay_id, for_update=True)
        if stay["state"] != "open":
            raise Conflict(f"the stay is {stay['state']}", stay_state=stay["state"])
    state, version = await accumulators.lock(session, stay["person_ref"], stay["newborn"], draft.year)
    if not closed or version != draft.acc_version:
        if not closed:
            parts = await settlements.standing_parts(session, stay_id)
            if len(parts) + 1 != draft.part.index:
                raise Conflict("another settlement of this stay committed meanwhile")
            lines = bill.part_lines(await fees.live(session, stay_id), None if d.final else d.through)
            if not bill.net(lines):
                raise InvalidInput("nothing to settle: the stay (part) has no fee lines",
                                   errors=[field_error("lines", "no unsettled fee line")])
        quotes: QuoteClient = runtime.extras["quotes"]
        quote = await quotes.quote(part_request(stay, draft.part, lines, state, d))
    await accumulators.write(session, stay["person_ref"], stay["newborn"], draft.year, _applied(state, quote),
                             version + 1)
    if not closed:
        await stays.close(session, stay_id, through=d.through, discharged_at=d.at, discharge_way=d.discharge_way)
    return stay, lines, quote, version


def _row(stay: dict[str, Any], part: bill.Part, year: int, d: Discharge, quote: dict[str, Any],
         recheck: dict[str, Any], settlement_id: str, principal: Principal, at: datetime) -> dict[str, Any]:
    total, self_pay = parse_yuan(quote["total"]), parse_yuan(quote["self_pay"])
    fund_pay = sum(parse_yuan(p["amount"]) for p in quote["payers"])
    return {"settlement_id": settlement_id, "stay_id": stay["stay_id"], "person_ref": stay["person_ref"],
            "newborn": stay["newborn"], "year": year, "kind": "final" if d.final else "mid",
            "part_index": part.index, "final": d.final, "hospital_code": stay["hospital_code"],
            "hospital_region_code": stay["hospital_region_code"],
            "insurance_region_code": stay["insurance_region_code"], "starts_on": part.starts_on,
            "through": d.through, "total_fen": total, "self_pay_fen": self_pay, "fund_pay_fen": fund_pay,
            "hosp_part_fen": parse_yuan(quote.get("hosp_part_amt", "0")), "on_account_fen": 0,
            "effective_ratio": quote["effective_ratio"], "policy_id": quote["policy"]["id"],
            "policy_version": quote["policy"]["version"], "discharge_way": d.discharge_way,
            "disease_code": d.disease_code or stay["disease_code"], "quote": quote, "delta": quote["delta"],
            "recheck": recheck, "settled_by": principal.subject, "settled_at": at}


def fund_rows(quote: dict[str, Any]) -> list[dict[str, Any]]:
    """A quote's payers as per-fund rows (amounts in fen), in waterfall order."""
    return [{"payer": p["payer"], "position": i, "name": p["name"], "agency": p.get("agency", ""),
             "nhsa_code": p["trace"].get("nhsa_code"), "amount_fen": parse_yuan(p["amount"])}
            for i, p in enumerate(quote["payers"])]


def _facts(stay: dict[str, Any], row: dict[str, Any], funds: list[dict[str, Any]]) -> dict[str, Any]:
    return {"settlement_id": row["settlement_id"], "stay_id": stay["stay_id"], "person_ref": stay["person_ref"],
            "newborn": stay["newborn"] or None, "region_code": stay["insurance_region_code"],
            "hospital_code": stay["hospital_code"], "hospital_region_code": stay["hospital_region_code"],
            "hospital_level": stay["hospital_level"], "kind": stay["kind"], "part_index": row["part_index"],
            "final": row["final"], "year": row["year"], "admitted_on": as_shanghai(stay["admitted_at"]).date(),
            "discharged_on": row["through"], "total": format_fen(row["total_fen"]),
            "funds": [FundAmount(payer=f["payer"], name=f["name"], agency=f["agency"], nhsa_code=f["nhsa_code"],
                                 amount=format_fen(f["amount_fen"])) for f in funds],  # type: ignore[arg-type]
            "fund_pay": format_fen(row["fund_pay_fen"]), "self_pay": format_fen(row["self_pay_fen"]),
            "hosp_part_amt": format_fen(row["hosp_part_fen"]),
            "effective_ratio": row["effective_ratio"], "categories": stay["person_facts"].get("categories", []),
            "policy_id": row["policy_id"], "policy_version": row["policy_version"], "settled_at": row["settled_at"]}


_MONEY = ("total", "itemised_total", "policy_scope", "out_of_scope", "class_c_amount", "over_limit_amount",
          "copay_first_amount", "self_pay", "hosp_part_amt")


def negated_quote(quote: dict[str, Any]) -> dict[str, Any]:
    """The original's quote with every amount negated (the reversal's record; its trace stays as it was)."""
    out = dict(quote)
    for k in _MONEY:
        if k in out:
            out[k] = format_fen(-parse_yuan(out[k]))
    out["payers"] = [{**p, "amount": format_fen(-parse_yuan(p["amount"]))} for p in quote["payers"]]
    out["delta"] = negate(AccumulatorDelta.model_validate(quote["delta"])).model_dump(mode="json")
    return out


async def reverse(runtime: Runtime, principal: Principal, session: AsyncSession, settlement_id: str,
                  reason: str) -> tuple[int, dict[str, Any]]:
    require_role(principal, Role.hospital, Role.operator)
    original = await settlements.get(session, _uuid(settlement_id))
    if original is None:
        raise _not_found()
    stay = await get_row(session, original["stay_id"], for_update=True)
    try:
        check_scope(principal, stay, change=True)
    except NotFound:
        raise _not_found() from None
    original = await settlements.get(session, settlement_id, for_update=True)
    assert original is not None
    if original["kind"] == "reversal":
        raise Conflict("a reversal is not reversed: settle the stay again")
    if original["reversed_by"] is not None:
        raise Conflict("this settlement is already reversed", reversed_by=original["reversed_by"])
    later = await settlements.later_standing(session, original)
    if later:
        raise Conflict("later settlements were computed on top of this one: reverse them first, newest first",
                       later_settlement_ids=later)
    state, version = await accumulators.lock(session, original["person_ref"], original["newborn"], original["year"])
    undo = negate(AccumulatorDelta.model_validate(original["delta"]))
    new_state = apply_delta(Accumulators.model_validate(state), undo).model_dump(mode="json")
    await accumulators.write(session, original["person_ref"], original["newborn"], original["year"], new_state,
                             version + 1)
    reversal_id = str(uuid.uuid4())
    at = now()
    row = {**{k: v for k, v in original.items() if k not in ("seq", "reversed_by")},
           "settlement_id": reversal_id, "kind": "reversal", "reverses": settlement_id,
           "total_fen": -original["total_fen"], "self_pay_fen": -original["self_pay_fen"],
           "fund_pay_fen": -original["fund_pay_fen"], "hosp_part_fen": -original["hosp_part_fen"],
           "on_account_fen": -original["on_account_fen"], "quote": negated_quote(original["quote"]),
           "delta": undo.model_dump(mode="json"), "reason": reason, "settled_by": principal.subject,
           "settled_at": at, "recheck": {"checked": False, "why": "reversal"}}
    funds = [{**{k: v for k, v in f.items() if k != "settlement_id"}, "amount_fen": -f["amount_fen"]}
             for f in await settlements.funds(session, settlement_id)]
    await settlements.add(session, row, funds)
    await settlements.mark_reversed(session, settlement_id, reversal_id)
    await fees.give_back(session, stay["stay_id"], settlement_id)
    plan = await plans.active(session, stay["stay_id"])
    if plan is not None:  # the plan was for the reversed share: the re-settlement's share gets a plan of its own
        await plans.end(session, plan["plan_id"], "cancelled")
    earlier = await settlements.standing_parts(session, stay["stay_id"])
    if not await stays.reopen(session, stay["stay_id"], max((p["through"] for p in earlier), default=None)):
        open_id = await stays.open_stay_of(session, stay["person_ref"], stay["newborn"], stay["hospital_code"])
        raise Conflict("the person has another open stay at this hospital: the stay cannot be reopened",
                       open_stay_id=open_id)
    if original["final"]:
        await lifecycle.reopen_with_stay(runtime, session, stay, at)
    await runtime.outbox.add(session, SettlementReversed(
        **_facts(stay, row, funds), reverses_settlement_id=settlement_id))  # type: ignore[arg-type]
    return 201, shape(row, funds)


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise _not_found() from None


def _not_found() -> NotFound:
    return NotFound("no such settlement")

"""Payments at the window (000 §2.5: 出院时只需结清个人自付部分; 001 三(二) 分阶段付费): a payment on account while
the stay is open, of the patient's share after settlement, the refund of an overpayment, the void of a record
entered by mistake (a reversing record with a reason: nothing is deleted), and the cashier's daily close.

Every write locks the stay, so payments, settlements and fee lines of one stay serialise: two payments at once
never exceed what is owed. An open stay's ceiling needs the current estimate, which is quoted before any lock
(rules down: 503, nothing written) and again under the lock if the bill moved meanwhile.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.auth import Principal, require_role
from onestop.common.clock import TZ, as_shanghai, now, today
from onestop.common.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.ledger import PaymentReceived
from onestop.contracts.money import format_fen, parse_yuan
from onestop.ledger.agreements.custody import return_when_due
from onestop.ledger.clients import RulesClient
from onestop.ledger.domain import bill
from onestop.ledger.domain.payments import Balance, daily_close
from onestop.ledger.settlements.service import Discharge
from onestop.ledger.statements.estimate import quote_part
from onestop.ledger.stays.service import audited_read, check_scope, get_row
from onestop.ledger.store import fees, payments


async def _estimate(runtime: Runtime, principal: Principal, stay: dict[str, Any]) -> int:
    """The patient's share of the open stay's unsettled lines as settled today (0 when there are none)."""
    async with runtime.db.transaction() as session:
        lines = bill.part_lines(await fees.live(session, stay["stay_id"]), None)
    if not bill.net(lines):
        return 0
    through = max(today(), max(x.occurred_on for x in lines))
    at = datetime.combine(through, time(12), tzinfo=TZ)
    _stay, _part, quote = await quote_part(runtime, principal, stay["stay_id"], Discharge(at=at, through=through),
                                           field="paid_at")
    return parse_yuan(quote["self_pay"])


async def _balance(runtime: Runtime, principal: Principal, session: AsyncSession, stay: dict[str, Any],
                   estimated: tuple[int, int] | None) -> Balance:
    """The stay's balance under its lock; `estimated` is (lines_version, share) quoted before the lock."""
    due, paid = await payments.balance(session, stay["stay_id"])
    if stay["state"] != "open":
        return Balance(due, paid)
    if estimated is None or estimated[0] != stay["lines_version"]:  # the bill moved: quote again under the lock
        estimated = (stay["lines_version"], await _estimate(runtime, principal, stay))
    return Balance(due, paid, estimated[1])


async def _prepare(runtime: Runtime, principal: Principal,
                   stay_id: str) -> tuple[dict[str, Any], tuple[int, int] | None]:
    """The stay as read before any lock, and an open stay's (lines_version, estimated share)."""
    require_role(principal, Role.hospital, Role.operator)
    async with runtime.db.transaction() as session:
        stay = await get_row(session, stay_id)
        check_scope(principal, stay, change=True)
    if stay["state"] == "cancelled":
        raise Conflict("the stay is cancelled", stay_state="cancelled")
    if stay["state"] != "open":
        return stay, None
    return stay, (stay["lines_version"], await _estimate(runtime, principal, stay))


async def _returned_on(runtime: Runtime, stay: dict[str, Any]) -> str | None:
    """When the region's policy hands the documents back (asked of rules before any lock)."""
    rules: RulesClient = runtime.extras["rules"]
    return await rules.documents_returned_on(stay["insurance_region_code"], today())


async def _locked(session: AsyncSession, principal: Principal, stay_id: str) -> dict[str, Any]:
    stay = await get_row(session, stay_id, for_update=True)
    check_scope(principal, stay, change=True)
    if stay["state"] == "cancelled":
        raise Conflict("the stay is cancelled", stay_state="cancelled")
    return stay


async def _receipt(session: AsyncSession, hospital_code: str, receipt_no: str | None) -> None:
    if receipt_no is not None and await payments.receipt_taken(session, hospital_code, receipt_no):
        raise Conflict("this receipt number is already used at the hospital",
                       errors=[field_error("receipt_no", "already used")])


async def _record(runtime: Runtime, principal: Principal, session: AsyncSession, stay: dict[str, Any],
                  balance: Balance, *, kind: str, amount_fen: int, method: str, receipt_no: str | None,
                  paid_at: datetime, voids: str | None = None, reason: str | None = None) -> dict[str, Any]:
    row = {"payment_id": str(uuid.uuid4()), "stay_id": stay["stay_id"], "hospital_code": stay["hospital_code"],
           "kind": kind, "amount_fen": amount_fen, "method": method, "receipt_no": receipt_no, "paid_at": paid_at,
           "paid_on": as_shanghai(paid_at).date(), "voids": voids, "voided_by": None, "reason": reason,
           "cashier": principal.subject, "recorded_at": now()}
    await payments.add(session, row)
    after = Balance(balance.due, balance.paid + amount_fen, balance.estimate)
    await runtime.outbox.add(session, PaymentReceived(
        payment_id=row["payment_id"], stay_id=stay["stay_id"], person_ref=stay["person_ref"],
        newborn=stay["newborn"] or None, region_code=stay["insurance_region_code"],
        hospital_code=stay["hospital_code"], kind=kind, method=method,  # type: ignore[arg-type]
        amount=format_fen(amount_fen), voids_payment_id=voids, owed=format_fen(after.owed),  # type: ignore[arg-type]
        paid_at=paid_at))
    return {**payment_view(row), "balance": balance_view(after, stay, estimated=True)}


async def pay(runtime: Runtime, principal: Principal, stay_id: str, *, amount_fen: int, method: str,
              receipt_no: str | None, paid_at: datetime | None, key: str | None, fingerprint: str) -> Any:
    """A payment on account (open stay) or of the patient's share (settled stay), never above what may be paid.
    The payment that leaves nothing owed hands back the documents held, where the region's policy says so."""
    async with runtime.idempotency.claim(principal, key, fingerprint) as claim:
        if claim.stored is not None:
            return claim.stored
        before, estimated = await _prepare(runtime, principal, stay_id)
        returned_on = await _returned_on(runtime, before)

        async def work(session: AsyncSession) -> tuple[int, dict[str, Any]]:
            stay = await _locked(session, principal, stay_id)
            balance = await _balance(runtime, principal, session, stay, estimated)
            if amount_fen > balance.payable:
                what = "the current estimate's patient share" if stay["state"] == "open" else "what is owed"
                raise InvalidInput(f"the payment is above {what}", payable=format_fen(balance.payable),
                                   errors=[field_error("amount", f"above {format_fen(balance.payable)}")])
            await _receipt(session, stay["hospital_code"], receipt_no)
            kind = "on_account" if stay["state"] == "open" else "self_pay"
            out = await _record(runtime, principal, session, stay, balance, kind=kind, amount_fen=amount_fen,
                                method=method, receipt_no=receipt_no, paid_at=paid_at or now())
            if kind == "self_pay" and out["balance"]["owed"] == "0.00":
                out["documents_returned"] = await return_when_due(runtime, session, stay, returned_on=returned_on,
                                                                  event="payment", actor=principal.subject)
            return 201, out

        return await claim.commit(work)


async def refund(runtime: Runtime, principal: Principal, stay_id: str, *, amount_fen: int, method: str,
                 receipt_no: str, paid_at: datetime | None, key: str | None, fingerprint: str) -> Any:
    """Give back what was paid above the settled share (and, while open, above the estimate), on its own receipt."""
    async with runtime.idempotency.claim(principal, key, fingerprint) as claim:
        if claim.stored is not None:
            return claim.stored
        _before, estimated = await _prepare(runtime, principal, stay_id)

        async def work(session: AsyncSession) -> tuple[int, dict[str, Any]]:
            stay = await _locked(session, principal, stay_id)
            balance = await _balance(runtime, principal, session, stay, estimated)
            if amount_fen > balance.refundable:
                raise InvalidInput("the refund is above what was overpaid", refundable=format_fen(
                    balance.refundable), errors=[field_error("amount", f"above {format_fen(balance.refundable)}")])
            await _receipt(session, stay["hospital_code"], receipt_no)
            return 201, await _record(runtime, principal, session, stay, balance, kind="refund",
                                      amount_fen=-amount_fen, method=method, receipt_no=receipt_no,
                                      paid_at=paid_at or now())

        return await claim.commit(work)


async def void(runtime: Runtime, principal: Principal, session: AsyncSession, payment_id: str,
               reason: str) -> tuple[int, dict[str, Any]]:
    """A record entered by mistake, cancelled by a reversing record with the reason (the original stays)."""
    require_role(principal, Role.hospital, Role.operator)
    original = await payments.get(session, _uuid(payment_id))
    if original is None:
        raise NotFound("no such payment")
    try:
        stay = await _locked(session, principal, original["stay_id"])
    except NotFound:
        raise NotFound("no such payment") from None
    original = await payments.get(session, payment_id, for_update=True)
    assert original is not None
    if original["kind"] == "void":
        raise Conflict("a void is not voided: record the payment again")
    if original["voided_by"] is not None:
        raise Conflict("this payment is already voided", voided_by=original["voided_by"])
    due, paid = await payments.balance(session, stay["stay_id"])
    out = await _record(runtime, principal, session, stay, Balance(due, paid), kind="void",
                        amount_fen=-original["amount_fen"], method=original["method"], receipt_no=None,
                        paid_at=now(), voids=payment_id, reason=reason)
    await payments.mark_voided(session, payment_id, out["payment_id"])
    return 201, out


async def of_stay(runtime: Runtime, principal: Principal, session: AsyncSession, stay_id: str) -> dict[str, Any]:
    stay = await audited_read(session, principal, stay_id, "GET /v1/stays/{stay_id}/payments")
    due, paid = await payments.balance(session, stay_id)
    return {"stay_id": stay_id, "items": [payment_view(r) for r in await payments.of_stay(session, stay_id)],
            "balance": balance_view(Balance(due, paid), stay)}


async def close(session: AsyncSession, principal: Principal, hospital_code: str, on: date) -> dict[str, Any]:
    """A cashier's daily close: the hospital's records of the day by cashier and method (Asia/Shanghai day)."""
    require_role(principal, Role.hospital, Role.operator)
    if not principal.can_see_hospital(hospital_code):
        raise Forbidden("a daily close is of your own hospital")
    out = daily_close(await payments.day(session, hospital_code, on))

    def yuan(d: dict[str, int]) -> dict[str, Any]:
        return {k: (v if k == "count" else format_fen(v)) for k, v in d.items()}

    return {"hospital_code": hospital_code, "date": on.isoformat(),
            "lines": [{"cashier": x["cashier"], "method": x["method"], **yuan(
                {k: v for k, v in x.items() if k not in ("cashier", "method")})} for x in out["lines"]],  # type: ignore[attr-defined]
            "by_method": {m: yuan(v) for m, v in out["by_method"].items()},  # type: ignore[attr-defined]
            "total": yuan(out["total"])}  # type: ignore[arg-type]


def payment_view(row: dict[str, Any]) -> dict[str, Any]:
    return {"payment_id": row["payment_id"], "stay_id": row["stay_id"], "kind": row["kind"],
            "amount": format_fen(row["amount_fen"]), "method": row["method"], "receipt_no": row["receipt_no"],
            "paid_at": row["paid_at"].isoformat(), "cashier": row["cashier"], "voids": row["voids"],
            "voided_by": row["voided_by"], "reason": row["reason"]}


def balance_view(b: Balance, stay: dict[str, Any], *, estimated: bool = False) -> dict[str, Any]:
    """`due`: the patient's share of the settled parts; `owed`: what they leave unpaid; `on_account`: paid ahead
    of a settlement, credited by the next one; `refund_due`: paid above the share of a settled stay. An open stay's
    answer to a payment also shows the estimate it was checked against and what may still be paid."""
    settled = stay["state"] != "open"
    out = {"stay_state": stay["state"], "due": format_fen(b.due), "paid": format_fen(b.paid),
           "owed": format_fen(b.owed), "on_account": format_fen(0 if settled else b.credit),
           "refund_due": format_fen(b.credit if settled else 0)}
    if estimated and not settled:
        out |= {"estimate_self_pay": format_fen(b.estimate), "payable": format_fen(b.payable)}
    return out


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise NotFound("no such payment") from None

"""A fund's payments: disbursements against a claim (拨付) and prepayments ahead of claims (预付金, 000 §3.4).

A disbursement posts Dr fund_payable / Cr approved: the `approved` account's limit (credits never above debits,
a CHECK in the database) is what refuses a payment above what was approved and not yet paid or netted; that
refusal is a 409. A prepayment posts Dr fund_payable / Cr prepayment; the fund's later decisions net it
(claims/decisions.py).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.claims.decisions import is_payer_of
from onestop.clearing.claims.service import fund_of, load, read
from onestop.clearing.domain.accounts import AccountKey, Code
from onestop.clearing.domain.transfers import Transfer, transfer_id
from onestop.clearing.store import books
from onestop.clearing.store import claims as store
from onestop.common.auth import Principal
from onestop.common.errors import Conflict, Forbidden, field_error
from onestop.common.money import format_fen
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.clearing import DisbursementMade


def _limit_refused(exc: IntegrityError) -> bool:
    return "credits_within_debits" in str(exc.orig) or "debits_within_credits" in str(exc.orig)


async def disburse(runtime: Runtime, principal: Principal, session: AsyncSession, claim_id: str, *,
                   reference: str, amount: int, paid_on: date) -> dict[str, Any]:
    """Pay a claim's hospital; 409 above what is approved and unpaid, or for a reference used before."""
    row = await load(session, claim_id)
    if not is_payer_of(principal, row):
        raise Forbidden("a claim is paid by a payer token of its own fund (payer and region)")
    if row.status == "withdrawn":
        raise Conflict("the claim was withdrawn", errors=[field_error("claim_id", "withdrawn")])
    fund, hospital = fund_of(row.hospital_code, row.payer, row.region_code), row.hospital_code
    did = uuid.uuid4()
    if not await store.insert_disbursement(session, {"id": did, "claim_id": row.id, "payer": fund.payer,
                                                     "region_code": fund.region_code, "reference": reference,
                                                     "amount": amount, "paid_on": paid_on}):
        raise Conflict("this fund recorded that reference already", errors=[field_error("reference", "used")])
    pay = Transfer(transfer_id(f"disbursement:{did}", fund, "pay"), AccountKey(hospital, fund, Code.fund_payable),
                   AccountKey(hospital, fund, Code.approved), amount, "disbursement", reason=reference)
    try:
        async with session.begin_nested():
            await books.post(session, [pay])
    except IntegrityError as exc:
        if not _limit_refused(exc):
            raise
        raise Conflict("the amount is above what the fund approved and has not paid",
                       errors=[field_error("amount", "above approved and unpaid")]) from None
    await store.update_claim(session, row.id, paid=int(row.paid) + amount)
    await runtime.outbox.add(session, DisbursementMade(
        disbursement_id=str(did), claim_id=str(row.id), hospital_code=hospital, payer=fund.payer,
        region_code=fund.region_code, amount=format_fen(amount), reference=reference, paid_on=paid_on))
    answer = await read(session, row.id)
    return {"disbursement_id": str(did), "claim_id": str(row.id), "amount": format_fen(amount),
            "reference": reference, "paid_on": paid_on.isoformat(), "claim": answer}


async def prepay(principal: Principal, session: AsyncSession, *, hospital_code: str, payer: str, region_code: str,
                 amount: int, reference: str, paid_on: date) -> dict[str, Any]:
    """Record a fund's payment ahead of claims; 403 for anyone but that fund's payer token."""
    if principal.role is not Role.payer or principal.payer != payer or principal.region_code != region_code:
        raise Forbidden("a prepayment is made by a payer token of that fund (payer and region)")
    fund = fund_of(hospital_code, payer, region_code)
    pid = uuid.uuid4()
    if not await store.insert_prepayment(session, {"id": pid, "hospital_code": hospital_code, "payer": payer,
                                                   "region_code": region_code, "reference": reference,
                                                   "amount": amount, "paid_on": paid_on}):
        raise Conflict("this fund recorded that reference already", errors=[field_error("reference", "used")])
    await books.post(session, [Transfer(transfer_id(f"prepayment:{pid}", fund, "pay"),
                                        AccountKey(hospital_code, fund, Code.fund_payable),
                                        AccountKey(hospital_code, fund, Code.prepayment), amount, "prepayment",
                                        reason=reference)])
    available = await store.balance(session, AccountKey(hospital_code, fund, Code.prepayment))
    return {"prepayment_id": str(pid), "hospital_code": hospital_code, "payer": payer, "region_code": region_code,
            "amount": format_fen(amount), "reference": reference, "paid_on": paid_on.isoformat(),
            "unnetted": format_fen(available.credits_posted - available.debits_posted)}

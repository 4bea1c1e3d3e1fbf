"""The claim use cases: submit one hospital × fund × month (NHSA 3203 清算申请), withdraw it, read it.

A claim's legs are reserved by *pending* transfers Dr claimed / Cr advance (domain/accounts.py), so a leg is
never claimed twice (the advance's limit, and a unique index on active items); the reversals of claimed legs
that the hospital owes back (owed_back) come in as negative lines and are netted when the fund approves.
Creation locks the hospital × fund's accounts first, so two claims of one fund never race.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.domain.accounts import AccountKey, Code, Fund, InvalidFund, accounts_of
from onestop.clearing.domain.transfers import Kind, Transfer, transfer_id, void_pending
from onestop.clearing.store import books
from onestop.clearing.store import claims as store
from onestop.common.auth import Principal
from onestop.common.clock import now, today
from onestop.common.errors import Conflict, Forbidden, InvalidInput, NotFound, field_error
from onestop.common.money import format_fen
from onestop.common.service_app import Runtime
from onestop.contracts.enums import Role
from onestop.contracts.events.clearing import ClaimSubmitted


def month_ended(setlym: str, on: date) -> bool:
    """Whether the month YYYYMM is over on `on` (Asia/Shanghai): a claim is only made of a closed month."""
    y, m = int(setlym[:4]), int(setlym[4:])
    first_after = date(y + m // 12, m % 12 + 1, 1)
    return on >= first_after


def fund_of(hospital_code: str, payer: str, region_code: str) -> Fund:
    try:
        fund = Fund(payer, region_code)
        AccountKey(hospital_code, fund, Code.advance)
    except InvalidFund as exc:
        raise InvalidInput(exc.detail, errors=[field_error("payer", exc.detail)]) from exc
    return fund


def pending_of(row: Any, fund: Fund, hospital: str) -> Transfer:
    """The pending claim transfer of a leg item, as it was posted."""
    return Transfer(row.transfer_id, AccountKey(hospital, fund, Code.claimed), AccountKey(hospital, fund, Code.advance),
                    int(row.amount), "claim", Kind.pending, settlement_id=row.settlement_id)


async def submit(runtime: Runtime, principal: Principal, session: AsyncSession, *, hospital_code: str, payer: str,
                 region_code: str, setlym: str, submitted_at: datetime | None = None) -> dict[str, Any]:
    """Claim the month's unclaimed legs of a hospital × fund: 409 before the month ends, while another claim of
    the period is open, or with nothing to claim."""
    if principal.role is not Role.operator and not (principal.role is Role.hospital
                                                    and principal.hospital_code == hospital_code):
        raise Forbidden("a hospital claims its own advances (or an operator on its behalf)")
    fund = fund_of(hospital_code, payer, region_code)
    if not month_ended(setlym, today()):
        raise Conflict("a claim is made after its month has ended (Asia/Shanghai)",
                       errors=[field_error("setlym", "the month has not ended")])
    await books.open_and_lock(session, accounts_of(hospital_code, fund).values())  # one claim of a fund at a time
    period = await store.claims_of_period(session, hospital_code, fund, setlym)
    open_ = [c for c in period if c.status == "submitted"]
    if open_:
        raise Conflict("this hospital × fund × month already has an open claim",
                       errors=[field_error("setlym", "an open claim exists")], claim_id=str(open_[0].id))
    legs, owed = await store.unclaimed(session, hospital_code, fund, setlym)
    if not legs and not owed:
        raise Conflict("nothing to claim: no posted leg of this fund and month is outside a claim",
                       errors=[field_error("setlym", "no unclaimed leg")])
    claim_id = uuid.uuid4()
    pendings = [Transfer(transfer_id(f"claim:{claim_id}", fund, r.settlement_id),
                         AccountKey(hospital_code, fund, Code.claimed), AccountKey(hospital_code, fund, Code.advance),
                         int(r.amount), "claim", Kind.pending, settlement_id=r.settlement_id) for r in legs]
    items = [{"claim_id": claim_id, "settlement_id": r.settlement_id, "payer": fund.payer,
              "region_code": fund.region_code, "kind": "leg", "amount": int(r.amount), "total_cost": int(r.total),
              "transfer_id": p.id} for r, p in zip(legs, pendings, strict=True)]
    items += [{"claim_id": claim_id, "settlement_id": r.settlement_id, "payer": fund.payer,
               "region_code": fund.region_code, "kind": "owed_back", "amount": -int(r.amount),
               "total_cost": int(r.total), "transfer_id": r.id} for r in owed]
    # a decided claim of the month means these legs were posted after it: a supplementary claim (补充清算)
    supplementary = any(c.status == "decided" for c in period)
    at = submitted_at or now()
    values = {"id": claim_id, "hospital_code": hospital_code, "payer": fund.payer, "region_code": fund.region_code,
              "setlym": setlym, "supplementary": supplementary, "status": "submitted", "count": len(legs),
              "total_cost": sum(i["total_cost"] for i in items), "fund_amount": sum(i["amount"] for i in items),
              "submitted_at": at}
    await books.post(session, pendings)
    await store.insert_claim(session, values, items)
    await runtime.outbox.add(session, ClaimSubmitted(
        claim_id=str(claim_id), hospital_code=hospital_code, payer=fund.payer, region_code=fund.region_code,
        setlym=setlym, supplementary=supplementary, count=values["count"],
        total_cost=format_fen(values["total_cost"]), fund_amount=format_fen(values["fund_amount"]),
        submitted_at=at))
    return await read(session, claim_id)


async def load(session: AsyncSession, claim_id: str) -> Any:
    """The claim, or 404."""
    try:
        cid = uuid.UUID(claim_id)
    except ValueError:
        raise NotFound("no such claim") from None
    row = await store.get(session, cid)
    if row is None:
        raise NotFound("no such claim")
    return row


async def visible(session: AsyncSession, principal: Principal, claim_id: str) -> Any:
    """The claim, if the caller may see it: its hospital, its fund's payer, an operator or a service."""
    row = await load(session, claim_id)
    role = principal.role
    ok = (role in (Role.operator, Role.service)
          or (role is Role.hospital and principal.hospital_code == row.hospital_code)
          or (role is Role.payer and principal.payer == row.payer and principal.region_code == row.region_code)
          or (role is Role.bureau and principal.can_see_region(row.region_code)))
    if not ok:
        raise NotFound("no such claim")  # not found rather than forbidden: a claim's existence is not shown
    return row


async def withdraw(runtime: Runtime, principal: Principal, session: AsyncSession, claim_id: str) -> dict[str, Any]:
    """Withdraw a claim before its first decision: its pendings are voided and its period is free again."""
    row = await visible(session, principal, claim_id)
    if not principal.can_see_hospital(row.hospital_code):
        raise Forbidden("a claim is withdrawn by its hospital (or an operator)")
    fund = Fund(row.payer, row.region_code)
    await books.open_and_lock(session, accounts_of(row.hospital_code, fund).values())
    row = await store.get(session, row.id, lock=True)
    items = await store.items(session, row.id)
    if row.status != "submitted" or any(i.kind == "leg" and (i.decision is not None or i.appealed) for i in items):
        raise Conflict("only a submitted claim without any decision is withdrawn",
                       errors=[field_error("claim_id", f"the claim is {row.status} or partly decided")])
    voids = [void_pending(pending_of(i, fund, row.hospital_code),
                          transfer_id=transfer_id(f"withdrawal:{row.id}", fund, i.settlement_id),
                          reason="claim withdrawn") for i in items if i.kind == "leg"]
    await books.post(session, voids)
    await store.withdraw_items(session, row.id)
    await store.update_claim(session, row.id, status="withdrawn", withdrawn_at=now())
    return await read(session, row.id)


def _yuan(v: int | None) -> str | None:
    return None if v is None else format_fen(int(v))


async def read(session: AsyncSession, claim_id: uuid.UUID) -> dict[str, Any]:
    """The claim's answer: totals, what was approved, netted and paid, and its items."""
    c = await store.get(session, claim_id)
    assert c is not None
    items = await store.items(session, claim_id)
    payable = int(c.approved) - int(c.owed_back_netted) - int(c.prepayment_netted) - int(c.paid)
    return {
        "claim_id": str(c.id), "hospital_code": c.hospital_code, "payer": c.payer, "region_code": c.region_code,
        "setlym": c.setlym, "period": f"{c.setlym[:4]}-{c.setlym[4:]}", "supplementary": c.supplementary,
        "status": c.status, "count": c.count, "total_cost": format_fen(c.total_cost),
        "amount": format_fen(c.fund_amount), "fund_amount": format_fen(c.fund_amount),
        "approved": format_fen(c.approved), "rejected": format_fen(c.rejected),
        "owed_back_netted": format_fen(c.owed_back_netted), "prepayment_netted": format_fen(c.prepayment_netted),
        "paid": format_fen(c.paid), "payable": format_fen(payable),
        "submitted_at": c.submitted_at.isoformat(), "decided_at": c.decided_at.isoformat() if c.decided_at else None,
        "items": [{"settlement_id": i.settlement_id, "kind": i.kind, "amount": format_fen(i.amount),
                   "total_cost": format_fen(i.total_cost), "decision": i.decision,
                   "approved_amount": _yuan(i.approved), "reason": i.reason, "appealed": i.appealed,
                   "appeal_note": i.appeal_note} for i in items],
        "settlements": [{"settlement_id": i.settlement_id, "amount": format_fen(i.amount)} for i in items],
    }


def nhsa(answer: dict[str, Any]) -> dict[str, Any]:
    """The claim in NHSA 3203 (清算申请) field names: 清算类别, 清算年月, 人次, 医疗费总额, 基金申报总额."""
    y, m = int(answer["setlym"][:4]), int(answer["setlym"][4:])
    end = date(y + m // 12, m % 12 + 1, 1).toordinal() - 1
    # clr_type (清算类别: outpatient, inpatient …) is not known per claim: a claim is per fund and month, all kinds
    return {"clr_type": None, "supplementary": answer["supplementary"],
            "setlym": answer["setlym"], "psntime": answer["count"], "medfee_sumamt": answer["total_cost"],
            "fund_appy_sum": answer["fund_amount"], "begndate": f"{y:04d}-{m:02d}-01",
            "enddate": date.fromordinal(end).isoformat(), "fixmedins_code": answer["hospital_code"],
            "insu_admdvs": answer["region_code"], "clr_apply_evt_id": answer["claim_id"]}

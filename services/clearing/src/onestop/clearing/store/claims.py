"""SQL of claims, their items, disbursements and prepayments (the transfers they make go through store/books.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.domain.accounts import AccountKey, Balance, Fund
from onestop.clearing.store.tables import claim, claim_item, disbursement, prepayment, settlement_period


async def record_periods(session: AsyncSession, batch: Sequence[Any]) -> None:
    """Each settlement's claim month and total cost, once (a replay changes nothing)."""
    rows = [{"settlement_id": s.settlement_id, "hospital_code": s.hospital_code, "region_code": s.region_code,
             "setlym": s.setlym, "total": s.total} for s in batch if s.setlym]
    if rows:
        await session.execute(insert(settlement_period).values(rows).on_conflict_do_nothing())


_UNCLAIMED_LEGS = text("""
SELECT t.id, t.settlement_id, t.amount, sp.total FROM transfer t
JOIN settlement_period sp ON sp.settlement_id = t.settlement_id
WHERE t.code = 'advance' AND t.hospital_code = :hospital AND t.payer = :payer AND t.region_code = :region
  AND sp.setlym = :setlym
  AND NOT EXISTS (SELECT 1 FROM transfer r WHERE r.corrects_id = t.id AND r.code = 'reversal')
  AND NOT EXISTS (SELECT 1 FROM claim_item i WHERE i.settlement_id = t.settlement_id AND i.payer = t.payer
                  AND i.region_code = t.region_code AND i.kind = 'leg' AND i.active)
ORDER BY t.settlement_id
""")

# reversals of claimed legs (credited to owed_back) that no claim has netted yet: the next claim's negative lines
_OWED_BACK = text("""
SELECT t.id, t.settlement_id, t.amount, coalesce(sp.total, 0) AS total FROM transfer t
JOIN account c ON c.id = t.credit_account_id AND c.code = 'owed_back'
LEFT JOIN settlement_period sp ON sp.settlement_id = t.settlement_id
WHERE t.code = 'reversal' AND t.hospital_code = :hospital AND t.payer = :payer AND t.region_code = :region
  AND NOT EXISTS (SELECT 1 FROM claim_item i WHERE i.transfer_id = t.id AND i.active)
ORDER BY t.settlement_id
""")


def _fund(hospital: str, fund: Fund) -> dict[str, str]:
    return {"hospital": hospital, "payer": fund.payer, "region": fund.region_code}


async def unclaimed(session: AsyncSession, hospital: str, fund: Fund, setlym: str) -> tuple[list[Any], list[Any]]:
    """(the month's posted legs in no claim and not reversed, the owed-back reversals no claim has netted)."""
    legs = list(await session.execute(_UNCLAIMED_LEGS, {**_fund(hospital, fund), "setlym": setlym}))
    owed = list(await session.execute(_OWED_BACK, _fund(hospital, fund)))
    return legs, owed


def _of_fund(hospital: str, fund: Fund) -> Any:
    return ((claim.c.hospital_code == hospital) & (claim.c.payer == fund.payer)
            & (claim.c.region_code == fund.region_code))


async def claims_of_period(session: AsyncSession, hospital: str, fund: Fund, setlym: str) -> list[Any]:
    """The period's claims of this hospital × fund, withdrawn ones included."""
    return list(await session.execute(select(claim).where(_of_fund(hospital, fund), claim.c.setlym == setlym)
                                      .order_by(claim.c.submitted_at)))


async def claims_of_hospital_month(session: AsyncSession, hospital: str, setlym: str) -> list[Any]:
    """Every fund's claims of a hospital and month that were not withdrawn, by fund."""
    return list(await session.execute(select(claim).where(claim.c.hospital_code == hospital,
                                                          claim.c.setlym == setlym, claim.c.status != "withdrawn")
                                      .order_by(claim.c.payer, claim.c.region_code, claim.c.submitted_at)))


async def due_funds(session: AsyncSession, setlym: str) -> list[Any]:
    """Every hospital × fund with a posted leg of the month that no claim holds (what automatic claims create)."""
    return list(await session.execute(text("""
        SELECT DISTINCT t.hospital_code, t.payer, t.region_code FROM transfer t
        JOIN settlement_period sp ON sp.settlement_id = t.settlement_id
        WHERE t.code = 'advance' AND sp.setlym = :setlym
          AND NOT EXISTS (SELECT 1 FROM claim_item i WHERE i.settlement_id = t.settlement_id AND i.payer = t.payer
                          AND i.region_code = t.region_code AND i.kind = 'leg' AND i.active)
        ORDER BY 1, 2, 3"""), {"setlym": setlym}))


async def insert_claim(session: AsyncSession, values: dict[str, Any], items: list[dict[str, Any]]) -> None:
    await session.execute(insert(claim).values(values))
    if items:
        await session.execute(insert(claim_item).values(items))


async def get(session: AsyncSession, claim_id: uuid.UUID, *, lock: bool = False) -> Any | None:
    stmt = select(claim).where(claim.c.id == claim_id)
    return (await session.execute(stmt.with_for_update() if lock else stmt)).first()


async def items(session: AsyncSession, claim_id: uuid.UUID) -> list[Any]:
    return list(await session.execute(select(claim_item).where(claim_item.c.claim_id == claim_id)
                                      .order_by(claim_item.c.kind, claim_item.c.settlement_id)))


async def update_claim(session: AsyncSession, claim_id: uuid.UUID, **values: Any) -> None:
    await session.execute(update(claim).where(claim.c.id == claim_id).values(**values))


async def update_item(session: AsyncSession, claim_id: uuid.UUID, settlement_id: str, **values: Any) -> None:
    await session.execute(update(claim_item).where(claim_item.c.claim_id == claim_id,
                                                   claim_item.c.settlement_id == settlement_id).values(**values))


async def withdraw_items(session: AsyncSession, claim_id: uuid.UUID) -> None:
    await session.execute(update(claim_item).where(claim_item.c.claim_id == claim_id).values(active=False))


async def balance(session: AsyncSession, key: AccountKey) -> Balance:
    """An account's sums (zeros before it opens)."""
    r = (await session.execute(text("SELECT * FROM account WHERE id = :id"), {"id": key.id})).first()
    if r is None:
        return Balance()
    return Balance(int(r.debits_pending), int(r.debits_posted), int(r.credits_pending), int(r.credits_posted))


async def insert_disbursement(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the fund already recorded this reference."""
    done = await session.execute(insert(disbursement).values(values).on_conflict_do_nothing().returning(
        disbursement.c.id))
    return done.first() is not None


async def insert_prepayment(session: AsyncSession, values: dict[str, Any]) -> bool:
    """False when the fund already recorded this reference."""
    done = await session.execute(insert(prepayment).values(values).on_conflict_do_nothing().returning(
        prepayment.c.id))
    return done.first() is not None

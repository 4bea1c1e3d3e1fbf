"""The posting use case: a batch of the ledger's settlement events becomes transfers, in the caller's transaction.

The caller (postings/worker.py) has claimed each event in the inbox in the same transaction, so effects and
"processed" commit together; the transfer ids make a second posting of a leg a no-op even without the inbox (a
leg seen by two groups, two replicas, a crash between commit and ack).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.clearing.domain.accounts import Fund
from onestop.clearing.domain.advances import Settlement, advances, reversals
from onestop.clearing.domain.transfers import Transfer
from onestop.clearing.store import books
from onestop.clearing.store import claims as claims_store
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.ledger import SettlementFinalized, SettlementReversed

FINALIZED = "ledger.settlement.finalized.v1"
REVERSED = "ledger.settlement.reversed.v1"
FILTER = "onestop.ledger.settlement.>"


def settlement_of(envelope: Envelope) -> Settlement:
    """The facts clearing posts from (a ValidationError, so a parked event, for a payload that does not read)."""
    event = (SettlementFinalized if envelope.type == FINALIZED else SettlementReversed).read(envelope.data)
    return Settlement(
        event_id=envelope.id, settlement_id=event.settlement_id, hospital_code=event.hospital_code,
        region_code=event.region_code, funds=[(f.payer, f.amount) for f in event.funds],
        fund_pay=event.fund_pay, settled_at=event.settled_at,
        reverses_settlement_id=event.reverses_settlement_id if isinstance(event, SettlementReversed) else None,
        setlym=event.discharged_on.strftime("%Y%m"), total=event.total)


async def post_settlements(session: AsyncSession, envelopes: Sequence[Envelope], mine: Callable[[str], bool]) -> int:
    """Post the legs of `mine` payers of these events, in order; returns the number of new transfers."""
    batch = [settlement_of(e) for e in envelopes]
    reversed_ids = sorted({s.reverses_settlement_id for s in batch if s.reverses_settlement_id})
    originals = await books.legs(session, reversed_ids, "advance")
    claimed = await books.claimed_legs(session, reversed_ids)
    planned: list[Transfer] = []
    for s in batch:
        if s.reverses_settlement_id is None:
            made = advances(s, mine)
            originals.update({(s.settlement_id, t.fund): t for t in made})  # a reversal later in this batch
        else:
            rid = s.reverses_settlement_id

            def original(fund: Fund, rid: str = rid) -> Transfer | None:
                return originals.get((rid, fund))

            def is_claimed(fund: Fund, rid: str = rid) -> bool:
                return (rid, fund) in claimed

            made = reversals(s, mine, original, is_claimed)
        planned += made
    await claims_store.record_periods(session, batch)  # which claim month each settlement belongs to
    return await books.post(session, planned)

"""Identity applies the ledger's repayment.overdue: a suspected malicious-default case opens."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.service_app import Runtime
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.ledger import RepaymentOverdue
from onestop.identity.credit.service import open_from_overdue

FILTER = "onestop.ledger.repayment.overdue.>"
DURABLE = "identity-repayment-overdue"


def make_handler(runtime: Runtime):  # type: ignore[no-untyped-def]
    """The inbox handler (runs once per event id, in the inbox's transaction)."""

    async def on_repayment_overdue(session: AsyncSession, envelope: Envelope) -> None:
        await open_from_overdue(runtime, session, RepaymentOverdue.read(envelope.data))

    return on_repayment_overdue

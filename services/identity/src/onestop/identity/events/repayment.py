"""Identity applies the ledger's repayment.overdue (a suspected malicious-default case opens) and its
repayment.visit_recorded (the case follows the home visit's outcome)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.service_app import Runtime
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.ledger import RepaymentOverdue, VisitRecorded
from onestop.identity.credit.service import follow_visit, open_from_overdue

FILTER = "onestop.ledger.repayment.overdue.>"
DURABLE = "identity-repayment-overdue"
VISIT_FILTER = "onestop.ledger.repayment.visit_recorded.>"
VISIT_DURABLE = "identity-repayment-visit"


def make_handler(runtime: Runtime):  # type: ignore[no-untyped-def]
    """The inbox handler (runs once per event id, in the inbox's transaction)."""

    async def on_repayment_overdue(session: AsyncSession, envelope: Envelope) -> None:
        await open_from_overdue(runtime, session, RepaymentOverdue.read(envelope.data))

    return on_repayment_overdue


def make_visit_handler(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def on_visit_recorded(session: AsyncSession, envelope: Envelope) -> None:
        await follow_visit(runtime, session, VisitRecorded.read(envelope.data))

    return on_visit_recorded

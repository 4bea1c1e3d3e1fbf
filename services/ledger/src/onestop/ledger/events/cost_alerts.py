"""The ledger consumes its own `ledger.fees.posted.v1` to raise cost alerts (statements/alerts.py).

Why not inside the fee-line batch: the alert needs an estimate, a quote from rules over NATS, and fee-line posting
must stay fast (it is benchmarked against COPY) and never wait on rules. The event is in the outbox with the
batch, so every committed batch is looked at once it has committed, by the common inbox consumer (effects and the
event id in one transaction, at most once per event), and rules being down delays an alert instead of refusing a
batch. The quote is asked inside the inbox's transaction: it holds no lock but the inbox row, and one consumer
runs one event at a time. Events of a bill already estimated (a later batch's event came first) are skipped.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.contracts.events.base import Envelope
from onestop.contracts.events.ledger import FeesPosted
from onestop.ledger.statements.alerts import CostAlerts

FILTER = "onestop.ledger.fees.posted.>"
DURABLE = "ledger-cost-alerts"
TYPE = "ledger.fees.posted.v1"


def make_handler(alerts: CostAlerts):  # type: ignore[no-untyped-def]
    """The inbox handler (runs once per event id, in the inbox's transaction)."""

    async def on_fees_posted(session: AsyncSession, envelope: Envelope) -> None:
        await alerts.check(session, FeesPosted.read(envelope.data).stay_id)

    return on_fees_posted

"""The ledger consumes identity's credit feed (`identity.credit.changed.v2`, 004 二(四)): a person blacklisted for
malicious default loses treat-first, so every active agreement of theirs ends (`blacklisted`), at every hospital
it admitted at; a city-wide agreement (启东) stops working city-wide at once. Applied through the ledger's inbox
(at most once per event id, in the same transaction as the ends and their events); an unreadable payload is
parked by the consumer. A lift changes nothing here: a lifted person signs a new agreement.

Why every agreement and not only those inside the event's `scope_region_code`: issue 12 point 1 revokes the
agreement when identity blacklists the person, and an agreement is signed in the person's insurance region, which
the blacklisting's reach (the deciding region's county or city) covers; a narrower reading would be a choice of
ours the seeds do not make (004 二(四): 不再享受"先看病后付费"诊疗服务).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.service_app import Runtime
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.identity import CreditChanged
from onestop.ledger.agreements import lifecycle

FILTER = "onestop.identity.credit.changed.>"
DURABLE = "ledger-credit"
TYPE = "identity.credit.changed.v2"


def make_handler(runtime: Runtime):  # type: ignore[no-untyped-def]
    """The inbox handler (runs once per event id, in the inbox's transaction)."""

    async def on_credit_changed(session: AsyncSession, envelope: Envelope) -> None:
        event = CreditChanged.read(envelope.data)
        if event.state == "blacklisted":
            await lifecycle.revoke_person(runtime, session, event.person_id, event.changed_at)

    return on_credit_changed

"""Identity applies rules' policy.published: it records the treat-first rule it now decides with."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from onestop.common.service_app import Runtime
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.identity import PolicyApplied
from onestop.contracts.events.rules import PolicyPublished
from onestop.identity.store import rules_cache


def make_handler(runtime: Runtime):  # type: ignore[no-untyped-def]
    async def on_policy_published(session: AsyncSession, envelope: Envelope) -> None:
        event = PolicyPublished.read(envelope.data)
        await rules_cache.record_rule(
            session,
            region_code=event.region_code,
            version=event.version,
            policy_id=event.policy_id,
            valid_from=event.valid_from,
            rule=event.treat_first.model_dump(mode="json") if event.treat_first else None,
            event_id=envelope.id,
        )
        await runtime.outbox.add(session, PolicyApplied(policy_id=event.policy_id, version=event.version,
                                                        region_code=event.region_code))
        book = runtime.extras.get("rulebook")
        if book is not None:
            book.invalidate_after_commit(session)

    return on_policy_published

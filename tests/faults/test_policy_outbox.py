"""The backbone on a real cross-service event (issue: platform, point 5).

rules commits a policy publication and its `policy.published` outbox row while NATS is stopped;
NATS comes back; identity applies it (records the treat-first rule version it now decides with)
exactly once — also when the relay publishes the same event again and when identity is restarted
with events waiting for it.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid

from sqlalchemy import func, select, update

from onestop.common.testing import eventually, mint, running
from onestop.identity.app import create_app as identity_app
from onestop.identity.store import rules_cache
from onestop.rules.app import create_app as rules_app
from onestop.rules.settings import SHIPPED_POLICIES

REGION = "150222"


def policy_text(version: int) -> str:
    text = next((SHIPPED_POLICIES / REGION).glob("*.yaml")).read_text(encoding="utf-8")
    return re.sub(r"(?m)^version: \d+", f"version: {version}", text, count=1)


wait_for = eventually


async def applied(identity) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    async with identity.state.runtime.db.transaction() as s:
        return await rules_cache.versions_applied(s, REGION)


async def inbox_rows(identity, event_id: str) -> int:  # type: ignore[no-untyped-def]
    t = identity.state.runtime.metadata.tables["inbox"]
    async with identity.state.runtime.db.transaction() as s:
        return int((await s.execute(select(func.count()).select_from(t).where(t.c.event_id == event_id))).scalar_one())


async def publish(client, token: str, version: int) -> dict:  # type: ignore[no-untyped-def, type-arg]
    r = await client.post("/v1/policies", json={"filename": f"{REGION}/policy.v{version}.yaml",
                                                 "yaml": policy_text(version)},
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201, r.text
    return r.json()


async def test_policy_published_during_outage_is_applied_exactly_once(settings_for, nats_factory) -> None:  # type: ignore[no-untyped-def]
    nats = nats_factory()
    rules = rules_app(settings_for("rules", nats=nats.url))
    identity_settings = settings_for("identity", nats=nats.url)
    async with running(rules) as rc:
        token = mint("operator", subject="operator:fault-test")
        async with running(identity_app(identity_settings)) as _:
            pass  # identity has provisioned its durable consumer; now it is down, as after a crash

        # 1. NATS is stopped; the publication commits with its outbox row all the same.
        nats.stop()
        body = await publish(rc, token, 2)
        assert body["version"] == 2
        outbox = rules.state.runtime.metadata.tables["outbox"]
        async with rules.state.runtime.db.transaction() as s:
            row = (await s.execute(select(outbox.c.event_id, outbox.c.published_at, outbox.c.envelope))).one()
        assert row.published_at is None
        event_id = row.event_id
        await asyncio.sleep(1.0)  # the relay tries and fails meanwhile; nothing is lost

        # 2. NATS comes back (same port, same store); identity starts and applies it once.
        nats.start()
        identity = identity_app(identity_settings)
        async with running(identity):
            try:
                await wait_for(lambda: _has(identity, 2))
            except AssertionError:
                js = identity.state.runtime.js
                print("STREAM", await js.stream_info("ONESTOP_RULES"))
                print("CONSUMER", await js.consumer_info("ONESTOP_RULES", "identity-policy"))
                async with rules.state.runtime.db.transaction() as s:
                    print("OUTBOX", (await s.execute(select(outbox.c.event_id, outbox.c.published_at))).all())
                raise
            assert await applied(identity) == [(2, event_id)]

            # 3. The relay publishes the same event again (as after a crash between publish and mark),
            #    inside the dedupe window and — by a new Nats-Msg-Id — as if after it.
            async with rules.state.runtime.db.transaction() as s:
                await s.execute(update(outbox).values(published_at=None))
            await wait_for(lambda: _published(rules))
            await rules.state.runtime.js.publish(
                f"onestop.rules.policy.published.150000.150200.{REGION}",
                json.dumps(row.envelope).encode(), headers={"Nats-Msg-Id": f"replay-{uuid.uuid4()}"},
            )
            await asyncio.sleep(1.5)
            assert await applied(identity) == [(2, event_id)]
            assert await inbox_rows(identity, event_id) == 1

        # 4. identity is down while two more versions are published; restarted, it applies each once.
        await publish(rc, token, 3)
        await publish(rc, token, 4)
        identity = identity_app(identity_settings)
        async with running(identity):
            await wait_for(lambda: _has(identity, 4))
            await asyncio.sleep(0.5)
            versions = [v for v, _ in await applied(identity)]
            assert versions == [2, 3, 4]


async def _has(identity, version: int) -> bool:  # type: ignore[no-untyped-def]
    return any(v == version for v, _ in await applied(identity))


async def _published(rules) -> bool:  # type: ignore[no-untyped-def]
    outbox = rules.state.runtime.metadata.tables["outbox"]
    async with rules.state.runtime.db.transaction() as s:
        unpublished = select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        return (await s.execute(unpublished)).scalar_one() == 0



async def test_crash_between_commit_and_ack_does_not_apply_twice(settings_for, nats_factory, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """identity commits the effects and its inbox row, then dies before the ack: the event comes
    again, the inbox recognises it, and nothing is applied twice."""
    from onestop.common.inbox import Inbox

    original = Inbox.apply
    crashes: list[str] = []

    async def apply_then_crash(self, db, envelope, handler, guard=None):  # type: ignore[no-untyped-def]
        ran = await original(self, db, envelope, handler, guard)
        if ran and not crashes:
            crashes.append(envelope.id)
            raise ConnectionResetError("simulated crash after commit, before ack")
        return ran

    monkeypatch.setattr(Inbox, "apply", apply_then_crash)
    nats = nats_factory()
    rules = rules_app(settings_for("rules", nats=nats.url))
    identity = identity_app(settings_for("identity", nats=nats.url))
    async with running(rules) as rc, running(identity):
        token = mint("operator", subject="operator:fault-test")
        await publish(rc, token, 2)
        await wait_for(lambda: _has(identity, 2))
        await wait_for(lambda: _redelivered(identity, crashes))
        await asyncio.sleep(1.0)
        assert [v for v, _ in await applied(identity)] == [2]
        assert await inbox_rows(identity, crashes[0]) == 1


async def _redelivered(identity, crashes: list[str]) -> bool:  # type: ignore[no-untyped-def]
    """The consumer has acked the event (its second attempt — in place, as a connection reset is transient —
    was recognised by the inbox): nothing pending."""
    if not crashes:
        return False
    info = await identity.state.runtime.js.consumer_info("ONESTOP_RULES", "identity-policy")
    return info.num_ack_pending == 0 and info.num_pending == 0 and info.delivered.consumer_seq >= 1

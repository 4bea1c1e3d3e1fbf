"""Outbox, relay, inbox and idempotency on a real PostgreSQL and a real nats-server."""

from __future__ import annotations

import asyncio
import json
from datetime import date

import nats
import pytest
from sqlalchemy import select, text

from onestop.common.auth import Principal
from onestop.common.errors import IdempotencyKeyInFlight, IdempotencyKeyRequired, IdempotencyKeyReused
from onestop.common.idempotency import Idempotency
from onestop.common.inbox import Inbox
from onestop.common.nats import ensure_stream
from onestop.common.outbox import Outbox, OutboxRelay
from onestop.contracts.enums import Role
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.rules import PolicyPublished
from onestop.ledger.store.tables import metadata

OP = Principal(subject="operator:t", role=Role.operator)


def _event(version: int = 1) -> PolicyPublished:
    from datetime import UTC, datetime

    return PolicyPublished(policy_id="150222", version=version, region_code="150222", valid_from=date(2026, 1, 1),
                           published_at=datetime.now(UTC), published_by="t")


async def test_rolled_back_work_publishes_nothing_and_committed_work_publishes_once(db, nats_url) -> None:  # type: ignore[no-untyped-def]
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, "rules")
    outbox = Outbox(metadata, "/onestop/test")
    relay = OutboxRelay(db, outbox, js)
    sub = await nc.subscribe("onestop.rules.policy.published.150000.150200.150222")
    with pytest.raises(RuntimeError):
        async with db.transaction() as s:
            await outbox.add(s, _event(1))
            raise RuntimeError("the use case failed")
    async with db.transaction() as s:
        env = await outbox.add(s, _event(2))
    assert await relay.publish_pending() == 1
    assert await relay.publish_pending() == 0
    msg = await sub.next_msg(timeout=2)
    assert json.loads(msg.data)["id"] == env.id and msg.headers["Nats-Msg-Id"] == env.id
    with pytest.raises(nats.errors.TimeoutError):
        await sub.next_msg(timeout=0.3)
    await nc.close()


async def test_every_relay_waits_while_a_bulk_writer_holds_the_lock_then_publishes_in_order(db, nats_url) -> None:  # type: ignore[no-untyped-def]
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, "rules")
    outbox = Outbox(metadata, "/onestop/test")
    relays = [OutboxRelay(db, outbox, js, interval=0.05, hold_lock="test.bulk") for _ in range(2)]  # two replicas
    sub = await nc.subscribe("onestop.rules.policy.published.150000.150200.150222")
    runners = [asyncio.create_task(r.run()) for r in relays]
    writer = await db.engine.connect()  # the bulk writer's session, as identity's import holds it
    try:
        await writer.execute(text("SELECT pg_advisory_lock(hashtext('test.bulk'))"))
        ids = []
        for v in (11, 12):
            async with db.transaction() as s:
                ids.append((await outbox.add(s, _event(v))).id)
        with pytest.raises(nats.errors.TimeoutError):  # committed, but neither relay publishes during the write
            await sub.next_msg(timeout=0.5)
        await writer.execute(text("SELECT pg_advisory_unlock(hashtext('test.bulk'))"))
        got = [json.loads((await sub.next_msg(timeout=5)).data)["id"] for _ in ids]
        assert got == ids  # published once the lock is released, in commit order, once
        with pytest.raises(nats.errors.TimeoutError):
            await sub.next_msg(timeout=0.3)
        for r in relays:
            r.hold_max_s = 0.3  # a writer that never ends cannot hold events back for longer than this
        await writer.execute(text("SELECT pg_advisory_lock(hashtext('test.bulk'))"))
        async with db.transaction() as s:
            late = (await outbox.add(s, _event(13))).id
        assert json.loads((await sub.next_msg(timeout=5)).data)["id"] == late
    finally:
        await writer.close()
        for r in runners:
            r.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        await nc.close()


async def test_inbox_applies_each_event_once(db) -> None:  # type: ignore[no-untyped-def]
    inbox = Inbox(metadata, "test-consumer")
    env = Envelope.wrap(_event(), source="/t", time=_event().published_at)
    calls: list[str] = []

    async def handler(session, envelope) -> None:  # type: ignore[no-untyped-def]
        calls.append(envelope.id)

    assert await inbox.apply(db, env, handler) is True
    assert await inbox.apply(db, env, handler) is False
    assert calls == [env.id]


async def test_idempotency_key_rules(db) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(db, metadata)
    runs: list[int] = []

    async def work(session):  # type: ignore[no-untyped-def]
        runs.append(1)
        return 201, {"n": len(runs)}

    with pytest.raises(IdempotencyKeyRequired):
        await idem.run(OP, None, "h1", work)
    first = await idem.run(OP, "k1", "h1", work)
    again = await idem.run(OP, "k1", "h1", work)
    assert first.status_code == again.status_code == 201 and first.body == again.body and len(runs) == 1
    assert again.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(IdempotencyKeyReused):
        await idem.run(OP, "k1", "h2", work)
    other = Principal(subject="hospital:H2", role=Role.hospital, hospital_code="H2")
    assert (await idem.run(other, "k1", "h2", work)).status_code == 201  # keys are per token subject

    gate = asyncio.Event()

    async def slow(session):  # type: ignore[no-untyped-def]
        await gate.wait()
        return 201, {"slow": True}

    task = asyncio.create_task(idem.run(OP, "k2", "h", slow))
    await asyncio.sleep(0.2)
    with pytest.raises(IdempotencyKeyInFlight):
        await idem.run(OP, "k2", "h", slow)
    gate.set()
    assert (await task).status_code == 201

    async def failing(session):  # type: ignore[no-untyped-def]
        raise ValueError("nothing may be stored")

    with pytest.raises(ValueError):
        await idem.run(OP, "k3", "h", failing)
    async with db.transaction() as s:
        t = metadata.tables["idempotency_key"]
        assert (await s.execute(select(t.c.key).where(t.c.key == "k3"))).first() is None

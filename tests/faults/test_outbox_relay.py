"""The outbox relay on a real PostgreSQL and nats-server: an aggregate's events in commit order across a failed
publish, an oversized row parked without blocking other aggregates, one publishing relay among replicas, and
the retention of published rows, inbox ids and idempotency keys (issue 10, point 2)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import nats
import pytest
from sqlalchemy import func, select, text

from onestop.common.db import Database, delete_in_batches
from onestop.common.housekeeping import sweep
from onestop.common.idempotency import Idempotency
from onestop.common.nats import ensure_stream
from onestop.common.outbox import RELAY_LOCK, Outbox, OutboxRelay, count_parked
from onestop.common.settings import ServiceSettings
from onestop.common.testing import settings_keys
from onestop.contracts.events.rules import PolicyPublished
from onestop.ledger.store.tables import metadata

SUBJECTS = "onestop.rules.policy.published.>"


@pytest.fixture
async def env(pg_server, make_database, nats_factory):  # type: ignore[no-untyped-def]
    settings = ServiceSettings(service="ledger", DATABASE_URL=pg_server, database_name=make_database("ledger"),
                               **settings_keys("ledger"))
    db = Database(settings.service_database_url())
    nc = await nats.connect(nats_factory().url)
    js = nc.jetstream()
    await ensure_stream(js, "rules")
    yield SimpleNamespace(settings=settings, db=db, nc=nc, js=js, outbox=Outbox(metadata, "/onestop/test"))
    await nc.close()
    await db.dispose()


def event(policy: str, version: int, *, parts: list[str] | None = None) -> PolicyPublished:
    """A policy.published; its aggregate is `policy@version`, so two with the same pair are one aggregate."""
    return PolicyPublished(policy_id=policy, version=version, region_code="150222", valid_from=date(2026, 1, 1),
                           published_at=datetime.now(UTC), published_by="t", parts=parts or [])


async def commit(env, *events: PolicyPublished) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for e in events:  # one unit of work each: commit order is id order
        async with env.db.transaction() as s:
            ids.append((await env.outbox.add(s, e)).id)
    return ids


async def stream_ids(env) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(event id, aggregate) of everything on the stream, in stream order."""
    sub = await env.js.pull_subscribe(SUBJECTS, stream="ONESTOP_RULES")
    out = []
    try:
        while True:
            for m in await sub.fetch(100, timeout=0.5):
                body = json.loads(m.data)
                out.append((body["id"], body["subject"]))
                await m.ack()
    except nats.errors.TimeoutError:
        pass
    await sub.unsubscribe()
    return out


async def test_an_aggregates_events_keep_commit_order_across_a_failed_publish(env) -> None:  # type: ignore[no-untyped-def]
    a1, a2, b1, a3 = await commit(env, event("A", 1), event("A", 1), event("B", 1), event("A", 1))
    relay = OutboxRelay(env.db, env.outbox, env.js)
    real_publish, failed = env.js.publish, []

    async def publish_failing_once(subject, payload, **kw):  # type: ignore[no-untyped-def]
        if kw["headers"]["Nats-Msg-Id"] == a2 and not failed:  # the server is away for this one publish
            failed.append(a2)
            raise nats.errors.TimeoutError
        return await real_publish(subject, payload, **kw)

    env.js.publish = publish_failing_once
    with pytest.raises(nats.errors.TimeoutError):
        await relay.publish_pending()
    assert await relay.publish_pending() == 2  # a2, then a3: nothing of A was sent after the failed one
    assert await relay.publish_pending() == 0
    got = await stream_ids(env)
    assert sorted(got) == sorted([(a1, "A@1"), (a2, "A@1"), (a3, "A@1"), (b1, "B@1")])  # each once
    assert [i for i, agg in got if agg == "A@1"] == [a1, a2, a3]


async def test_an_oversized_row_is_parked_and_holds_back_only_its_aggregate(env) -> None:  # type: ignore[no-untyped-def]
    too_big = event("A", 1, parts=["x" * 1000] * 1200)  # > the server's 1 MB max_payload
    big, after, other = await commit(env, too_big, event("A", 1), event("B", 1))
    relay = OutboxRelay(env.db, env.outbox, env.js)
    assert await relay.publish_pending() == 2  # one published, one parked
    assert await relay.publish_pending() == 0
    assert await stream_ids(env) == [(other, "B@1")]
    t = metadata.tables["outbox"]
    async with env.db.transaction() as s:
        rows = {r.event_id: r for r in (await s.execute(select(t.c.event_id, t.c.published_at, t.c.parked_at,
                                                              t.c.park_reason)))}
    assert rows[big].parked_at is not None and "max_payload" in rows[big].park_reason
    assert rows[after].published_at is None and rows[after].parked_at is None  # waits behind the parked one
    assert await count_parked(env.db, metadata, "ledger") == 1  # onestop_outbox_parked_rows
    later = (await commit(env, event("B", 1)))[0]
    assert await relay.publish_pending() == 1
    assert (await stream_ids(env))[-1] == (later, "B@1")


async def test_two_relays_one_publisher(env) -> None:  # type: ignore[no-untyped-def]
    relays = [OutboxRelay(env.db, env.outbox, env.js) for _ in range(2)]
    ids = await commit(env, event("A", 1))
    holder = await env.db.engine.connect()  # as another replica's relay holds it during its pass
    try:
        await holder.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": RELAY_LOCK})
        assert [await r.publish_pending() for r in relays] == [0, 0]
        assert await stream_ids(env) == []
        await holder.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"), {"k": RELAY_LOCK})
    finally:
        await holder.close()

    # Both running while events of three aggregates commit: each once, each aggregate in commit order.
    runners = [asyncio.create_task(r.run()) for r in relays]
    try:
        for i in range(60):
            ids += await commit(env, event("ABC"[i % 3], 1))
        t = metadata.tables["outbox"]

        async def drained() -> bool:
            async with env.db.transaction() as s:
                q = select(func.count()).select_from(t).where(t.c.published_at.is_(None))
                return (await s.execute(q)).scalar_one() == 0
        for _ in range(100):
            if await drained():
                break
            await asyncio.sleep(0.1)
    finally:
        for r in runners:
            r.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
    got = await stream_ids(env)
    assert sorted(i for i, _ in got) == sorted(ids)
    committed = {"A@1": [ids[0]] + ids[1::3], "B@1": ids[2::3], "C@1": ids[3::3]}
    for aggregate, order in committed.items():
        assert [i for i, agg in got if agg == aggregate] == order


async def test_retention_purges_old_published_rows_inbox_ids_and_keys_after_their_windows(env) -> None:  # type: ignore[no-untyped-def]
    s_ = env.settings
    old_ok, new_ok, unsent, parked = await commit(env, event("A", 1), event("B", 1), event("C", 1), event("D", 1))
    now = datetime.now(UTC)
    async with env.db.transaction() as s:
        await s.execute(text("UPDATE outbox SET published_at = :t WHERE event_id = :e"),
                        {"t": now - timedelta(hours=s_.outbox_retention_hours + 1), "e": old_ok})
        await s.execute(text("UPDATE outbox SET published_at = :t WHERE event_id = :e"), {"t": now, "e": new_ok})
        await s.execute(text("UPDATE outbox SET parked_at = :t WHERE event_id = :e"),
                        {"t": now - timedelta(days=400), "e": parked})
        for consumer, age in (("old", s_.inbox_retention_days + 1), ("recent", s_.inbox_retention_days - 1)):
            await s.execute(text("INSERT INTO inbox (consumer, event_id, type, processed_at) "
                                 "VALUES (:c, 'e', 't', :t)"), {"c": consumer, "t": now - timedelta(days=age)})
        for key, age in (("old", s_.idempotency_ttl_days + 1), ("recent", s_.idempotency_ttl_days - 1)):
            await s.execute(text("INSERT INTO idempotency_key (subject, key, request_hash, status_code, response, "
                                 "created_at) VALUES ('s', :k, 'h', 201, '{}', :t)"),
                            {"k": key, "t": now - timedelta(days=age)})
    runtime = SimpleNamespace(settings=s_, db=env.db, metadata=metadata,
                              idempotency=Idempotency(env.db, metadata, s_.idempotency_ttl_days))
    assert await sweep(runtime) == {"outbox": 1, "inbox": 1, "idempotency_key": 1}
    async with env.db.transaction() as s:
        assert {r[0] for r in await s.execute(text("SELECT event_id FROM outbox"))} == {new_ok, unsent, parked}
        assert {r[0] for r in await s.execute(text("SELECT consumer FROM inbox"))} == {"recent"}
        assert {r[0] for r in await s.execute(text("SELECT key FROM idempotency_key"))} == {"recent"}


def test_retention_windows_are_settings_with_floors() -> None:
    keys = settings_keys("ledger")
    assert ServiceSettings(outbox_retention_hours=24, inbox_retention_days=30, **keys).inbox_retention_days == 30
    with pytest.raises(ValueError, match="idempotency_ttl_days"):
        ServiceSettings(idempotency_ttl_days=6, **keys)
    with pytest.raises(ValueError, match="inbox_retention_days"):
        ServiceSettings(inbox_retention_days=1, **keys)


async def test_a_purge_deletes_in_batches_until_nothing_old_is_left(env) -> None:  # type: ignore[no-untyped-def]
    ids = await commit(env, *(event("P", v) for v in range(1, 6)))
    t = metadata.tables["outbox"]
    async with env.db.transaction() as s:
        await s.execute(text("UPDATE outbox SET published_at = now() - interval '10 days'"))
    assert await delete_in_batches(env.db, t, t.c.event_id.in_(ids[:5]), batch=2) == 5  # 2 + 2 + 1
    async with env.db.transaction() as s:
        assert (await s.execute(select(func.count()).select_from(t))).scalar_one() == 0

"""Consumers on a real PostgreSQL and nats-server: what can never apply is parked, its aggregate's later events
wait behind it, everything else goes on; operators list and retry parked events over HTTP; /readyz names each
consumer (issue 10, point 1)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from typing import Any

import nats
import pytest
from sqlalchemy import text

from onestop.common import parked_api
from onestop.common.consumer import StreamConsumer, start_consumers
from onestop.common.errors import NotFound
from onestop.common.inbox import Inbox
from onestop.common.pagination import encode_cursor
from onestop.common.service_app import Runtime, build_app
from onestop.common.settings import ServiceSettings
from onestop.common.testing import bearer, eventually, running, settings_keys
from onestop.contracts.events.base import Envelope, stream_name
from onestop.contracts.events.ledger import RepaymentOverdue
from onestop.ledger.store.tables import metadata

OVERDUE = "ledger.repayment.overdue.v1"
KNOWN = "person-known"


def overdue(plan_id: str, person_ref: str = KNOWN) -> RepaymentOverdue:
    return RepaymentOverdue(person_ref=person_ref, region_code="150222", hospital_code="H1", plan_id=plan_id,
                            stay_id="stay-1", overdue_amount="10.00", due_date=date(2026, 1, 10), days_overdue=30,
                            detected_at=datetime.now(UTC))


def envelope_bytes(data: dict[str, Any], *, type_: str = OVERDUE, subject: str = "") -> tuple[str, bytes]:
    env = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/onestop/ledger", "type": type_,
           "subject": subject, "time": datetime.now(UTC).isoformat(), "datacontenttype": "application/json",
           "data": data, "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}  # an extension
    return env["id"], json.dumps(env).encode()


def consumer_app(settings: ServiceSettings, known: set[str], *, stream: str = "ledger"):  # type: ignore[no-untyped-def]
    """A service whose consumer applies repayment.overdue into `test_effect`; a person it does not know is a
    domain error (as identity's is), so the event is parked until the person becomes known."""

    async def on_overdue(session, envelope: Envelope) -> None:  # type: ignore[no-untyped-def]
        event = RepaymentOverdue.read(envelope.data)
        if event.person_ref not in known:
            raise NotFound("no such person")
        await session.execute(text("INSERT INTO test_effect (event_id, plan_id) VALUES (:e, :p)"),
                              {"e": envelope.id, "p": event.plan_id})

    async def start(runtime: Runtime) -> None:
        async with runtime.db.transaction() as s:
            await s.execute(text("CREATE TABLE IF NOT EXISTS test_effect (seq serial PRIMARY KEY, event_id text, "
                                 "plan_id text)"))
        start_consumers(runtime, [StreamConsumer(
            runtime.db, Inbox(metadata, "test"), runtime.js, stream=stream_name(stream), durable=f"test-{stream}",
            filter_subject=f"onestop.{stream}.>", handlers={OVERDUE: on_overdue}, park_after=2)])

    return build_app(settings, title="t", description="t", metadata=metadata, routers=[parked_api.router],
                     on_start=start)


@pytest.fixture
def settings(pg_server, make_database, nats_factory):  # type: ignore[no-untyped-def]
    # a nats-server of its own: no other test's durable or events on it
    return ServiceSettings(service="ledger", DATABASE_URL=pg_server, NATS_URL=nats_factory().url,
                           database_name=make_database("ledger"), relay_interval_s=0.05, **settings_keys("ledger"))


async def effects(app) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    async with app.state.runtime.db.transaction() as s:
        return [tuple(r) for r in (await s.execute(text("SELECT plan_id, event_id FROM test_effect ORDER BY seq")))]


async def test_poison_parked_its_aggregate_waits_others_go_on_and_an_operator_retries(settings) -> None:  # type: ignore[no-untyped-def]
    known = {KNOWN}
    app = consumer_app(settings, known)
    async with running(app) as client:
        op = bearer("operator", subject="operator:t")
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        sent: dict[str, str] = {}

        async def send(name: str, data: dict[str, Any], subject: str, type_: str = OVERDUE,
                       nats_subject: str = "onestop.ledger.repayment.overdue.150000.150200.150222") -> None:
            sent[name], body = envelope_bytes(data, type_=type_, subject=subject)
            await js.publish(nats_subject, body, headers={"Nats-Msg-Id": sent[name]})

        await send("p1_poison", overdue("P1", "person-unknown").model_dump(mode="json"), "P1")
        await send("p1_next", overdue("P1").model_dump(mode="json"), "P1")  # same plan: must wait behind it
        await send("p2", overdue("P2").model_dump(mode="json"), "P2")  # another aggregate goes on
        await send("unhandled", {"anything": 1}, "S9", type_="ledger.stay.admitted.v1",
                   nats_subject="onestop.ledger.stay.admitted.150000.150200.150222")
        await send("p3_v2", overdue("P3").model_dump(mode="json"), "P3", type_="ledger.repayment.overdue.v2")
        await send("p4_invalid", {"plan_id": "P4", "type": OVERDUE}, "P4")
        newer = {**overdue("P5").model_dump(mode="json"), "added_in_v1_1": "tolerated"}  # a newer minor version
        await send("p5_newer", newer, "P5")
        await js.publish("onestop.ledger.repayment.overdue.150000.150200.150222", b"not an envelope")
        await nc.close()

        async def settled() -> bool:
            page = (await client.get("/v1/parked-events", headers=op)).json()
            return len(page["items"]) == 4 and len(await effects(app)) == 2
        await eventually(settled)
        assert await effects(app) == [("P2", sent["p2"]), ("P5", sent["p5_newer"])]

        first = (await client.get("/v1/parked-events", params={"limit": 3}, headers=op)).json()
        rest = (await client.get("/v1/parked-events", params={"limit": 3, "cursor": first["next_cursor"]},
                                 headers=op)).json()
        assert first["next_cursor"] and rest["next_cursor"] is None
        rows = {r["event_id"]: r for r in first["items"] + rest["items"]}
        assert set(rows) == {sent["p1_poison"], sent["p1_next"], sent["p3_v2"], sent["p4_invalid"]}
        poison, waiting = rows[sent["p1_poison"]], rows[sent["p1_next"]]
        assert (poison["state"], poison["attempts"], poison["aggregate"]) == ("parked", 2, "P1")
        assert poison["subject"] == "onestop.ledger.repayment.overdue.150000.150200.150222"
        assert poison["envelope"]["data"]["plan_id"] == "P1" and "NotFound" in poison["reason"]
        assert waiting["state"] == "waiting" and str(poison["id"]) in waiting["reason"]
        assert rows[sent["p3_v2"]]["state"] == "parked" and "version" in rows[sent["p3_v2"]]["reason"]
        assert "person_ref" in rows[sent["p4_invalid"]]["reason"]  # names the field that failed validation

        metrics = (await client.get("/metrics")).text
        assert 'onestop_parked_events{consumer="test-ledger",state="parked"} 3.0' in metrics
        assert 'onestop_parked_events{consumer="test-ledger",state="waiting"} 1.0' in metrics
        assert 'onestop_events_unreadable_total{consumer="test-ledger"} 1.0' in metrics
        hospital = bearer("hospital", subject="hospital:H1", hospital_code="H1")
        assert (await client.get("/v1/parked-events", headers=hospital)).status_code == 403

        # Retrying the waiting one is refused; the parked one fails again while its person is unknown.
        assert (await client.post(f"/v1/parked-events/{waiting['id']}:retry", headers=op)).status_code == 409
        again = await client.post(f"/v1/parked-events/{poison['id']}:retry", headers=op)
        assert again.status_code == 409 and again.headers["content-type"] == "application/problem+json"

        # The person becomes known: the retry applies the parked event, then the one behind it, in order, once.
        known.add("person-unknown")
        r = await client.post(f"/v1/parked-events/{poison['id']}:retry", headers=op)
        assert r.status_code == 200, r.text
        assert r.json()["applied"] == [poison["id"], waiting["id"]] and r.json()["parked_id"] is None
        assert (await client.post(f"/v1/parked-events/{poison['id']}:retry", headers=op)).json()["applied"] == []
        assert [p for p, _ in await effects(app)] == ["P2", "P5", "P1", "P1"]
        assert [e for _, e in await effects(app)][2:] == [sent["p1_poison"], sent["p1_next"]]
        assert (await client.post("/v1/parked-events/999999:retry", headers=op)).status_code == 404
        for bad in ("x", "²", "9" * 19):  # not a cursor this list gave: 422, never a 5xx
            assert (await client.get("/v1/parked-events", params={"cursor": bad}, headers=op)).status_code == 422
        assert (await client.post(f"/v1/parked-events/{2**64}:retry", headers=op)).status_code == 422
        # beyond PostgreSQL's bigint: a 422 naming the field, not the database's error as a 500 (found by the fuzzer)
        r = await client.post(f"/v1/parked-events/{2**64}:retry", headers=op)
        assert r.json()["errors"][0]["field"] == "parked_id", r.text
        r = await client.get("/v1/parked-events", params={"cursor": encode_cursor((2**63,))}, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "cursor", r.text

        # The aggregate is free again: its next event is applied at once.
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        await send("p1_later", overdue("P1").model_dump(mode="json"), "P1")
        await nc.close()
        await eventually(lambda: _has(app, sent["p1_later"]))
        open_rows = (await client.get("/v1/parked-events", headers=op)).json()["items"]
        assert {r["event_id"] for r in open_rows} == {sent["p3_v2"], sent["p4_invalid"]}


async def _has(app, event_id: str) -> bool:  # type: ignore[no-untyped-def]
    return any(e == event_id for _, e in await effects(app))


async def test_readyz_names_each_consumer_and_is_not_ready_while_one_is_dead(settings) -> None:  # type: ignore[no-untyped-def]
    app = consumer_app(settings, {KNOWN})
    async with running(app) as client:
        async def started() -> bool:
            return (await client.get("/readyz")).json()["consumers"][0]["state"] == "running"
        await eventually(started)
        ready = await client.get("/readyz")
        assert ready.status_code == 200
        [consumer] = ready.json()["consumers"]
        assert (consumer["name"], consumer["state"], consumer["lag"]) == ("test-ledger", "running", 0)

        # Someone deletes the durable on the server: the consumer dies, /readyz says so, and it comes back.
        js = app.state.runtime.js
        await js.delete_consumer(stream_name("ledger"), "test-ledger")
        seen: list[tuple[int, str]] = []

        async def down_then_back() -> bool:
            r = await client.get("/readyz")
            state = r.json()["consumers"][0]["state"]
            seen.append((r.status_code, state))
            return (503, "down") in seen and (r.status_code, state) == (200, "running")
        await eventually(down_then_back, timeout=30)
        assert (await client.get("/readyz")).json()["consumers"][0]["restarts"] == 1
        info = await js.consumer_info(stream_name("ledger"), "test-ledger")  # re-created, without a delivery limit
        assert info.config.max_deliver == -1


async def test_a_consumer_waiting_for_another_services_stream_is_waiting_not_down(settings) -> None:  # type: ignore[no-untyped-def]
    app = consumer_app(settings, {KNOWN}, stream="clearing")  # nobody has provisioned ONESTOP_CLEARING
    async with running(app) as client:
        await asyncio.sleep(0.5)
        r = await client.get("/readyz")
        assert r.status_code == 200 and r.json()["consumers"][0]["state"] == "waiting"


async def test_a_failed_ack_does_not_kill_the_consumer(settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from nats.aio.msg import Msg

    real_ack, failed = Msg.ack, []

    async def ack_failing_once(self):  # type: ignore[no-untyped-def]
        if not failed:  # NATS away at the moment of the first ack
            failed.append(self.subject)
            raise nats.errors.ConnectionClosedError
        return await real_ack(self)

    monkeypatch.setattr(Msg, "ack", ack_failing_once)
    app = consumer_app(settings, {KNOWN})
    async with running(app) as client:
        nc = await nats.connect(settings.nats_url)
        js = nc.jetstream()
        ids = []
        for plan in ("A1", "A2"):
            event_id, body = envelope_bytes(overdue(plan).model_dump(mode="json"), subject=plan)
            ids.append(event_id)
            await js.publish("onestop.ledger.repayment.overdue.150000.150200.150222", body,
                             headers={"Nats-Msg-Id": event_id})
        await nc.close()
        await eventually(lambda: _has(app, ids[1]))  # the consumer went on after the failed ack
        assert failed and [e for _, e in await effects(app)] == ids
        consumer = (await client.get("/readyz")).json()["consumers"][0]
        assert (consumer["state"], consumer["restarts"]) == ("running", 0)

"""The ledger's repayment.overdue opens a suspected case exactly once, even when delivered twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime

import nats
from identity_api_helpers import csv_bytes, make_id, row, unique_seq, upload
from sqlalchemy import func, select

from onestop.common.nats import ensure_stream
from onestop.common.testing import mint
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.ledger import RepaymentOverdue


async def test_overdue_opens_one_case(identity, nats_url) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    number = make_id("320681", unique_seq())
    r = await upload(client, app, csv_bytes([row(number, "参保人员", "320681", insurance="职工")]), source="insurance")
    assert r.status_code == 201
    elig = await client.post("/v1/eligibility", headers={"Authorization": "Bearer " + mint(
        "operator")}, json={"id_number": number, "region_code": "320681", "hospital_code": "H320681001"})
    person_id = elig.json()["person_id"]
    event = RepaymentOverdue(person_ref=person_id, region_code="320681", hospital_code="H320681001",
                             plan_id=f"plan-{uuid.uuid4().hex[:8]}", stay_id="stay-1", overdue_amount="1200.00",
                             due_date=date(2026, 1, 10), days_overdue=60, detected_at=datetime.now(UTC))
    envelope = Envelope.wrap(event, source="/onestop/ledger", time=datetime.now(UTC))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, "ledger")
    data = json.dumps(envelope.model_dump(mode="json")).encode()
    # The same event twice, past JetStream's dedupe (another Nats-Msg-Id): the inbox must hold.
    for msg_id in (envelope.id, f"again-{uuid.uuid4()}"):
        await js.publish(event.nats_subject(), data, headers={"Nats-Msg-Id": msg_id})
    await nc.close()

    t = app.state.runtime.metadata.tables["credit_case"]

    async def cases() -> int:
        async with app.state.runtime.db.transaction() as s:
            q = select(func.count()).select_from(t).where(t.c.person_id == person_id)
            return int((await s.execute(q)).scalar_one())

    for _ in range(100):
        if await cases():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    assert await cases() == 1
    async with app.state.runtime.db.transaction() as s:
        origin = (await s.execute(select(t.c.origin, t.c.state).where(t.c.person_id == person_id))).one()
    assert tuple(origin) == ("ledger", "suspected")


async def test_overdue_for_an_unknown_person_is_parked_not_dropped(identity, nats_url) -> None:  # type: ignore[no-untyped-def]
    """Before, the handler logged and returned: the event was acked and lost. Now it is a domain error, and the
    consumer parks it where an operator sees it (and can retry it once the person is known)."""
    app, client = identity
    plan_id = f"plan-{uuid.uuid4().hex[:8]}"
    event = RepaymentOverdue(person_ref=str(uuid.uuid4()), region_code="320681", hospital_code="H320681001",
                             plan_id=plan_id, stay_id="stay-1", overdue_amount="80.00", due_date=date(2026, 1, 10),
                             days_overdue=60, detected_at=datetime.now(UTC))
    envelope = Envelope.wrap(event, source="/onestop/ledger", time=datetime.now(UTC))
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await ensure_stream(js, "ledger")
    await js.publish(event.nats_subject(), json.dumps(envelope.model_dump(mode="json")).encode(),
                     headers={"Nats-Msg-Id": envelope.id})
    await nc.close()
    op = {"Authorization": "Bearer " + mint("operator", subject="operator:t")}
    for _ in range(100):
        items = (await client.get("/v1/parked-events", headers=op)).json()["items"]
        mine = [i for i in items if i["event_id"] == envelope.id]
        if mine:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the event was not parked")
    assert mine[0]["state"] == "parked" and mine[0]["aggregate"] == plan_id
    assert mine[0]["consumer"] == "identity-repayment-overdue" and "does not know" in mine[0]["reason"]

"""Issue 12: a crash between the settlement's commit and the event's publication still publishes it, once."""

from __future__ import annotations

import json
from typing import Any

import httpx
from ledger_api_helpers import HENAN, SHANZHOU_HOSPITAL, agreement_body, fresh_id, hospital, register, stay_body
from sqlalchemy import select
from test_settlement import line, post, settle

from onestop.common.testing import eventually, running
from onestop.ledger.app import create_app

SUBJECT = "onestop.ledger.settlement.finalized.410000.411200.411203"


async def test_a_settlement_committed_before_a_crash_is_published_after_restart(  # type: ignore[no-untyped-def]
        settings_for, ledger_identity, ledger_rules, ledger_nats_url) -> None:
    settings = settings_for("ledger", nats=ledger_nats_url)
    transports: dict[str, Any] = {"identity_transport": httpx.ASGITransport(ledger_identity[0]),
                                  "rules_transport": httpx.ASGITransport(ledger_rules)}
    app = create_app(settings, **transports)
    async with running(app) as client:
        runtime = app.state.runtime

        async def crashed_before_publishing() -> int:  # the process dies after its commits, before any publish
            return 0

        runtime.relay.publish_pending = crashed_before_publishing
        number = fresh_id(HENAN)
        await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
        r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                              headers=hospital(SHANZHOU_HOSPITAL))
        r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], SHANZHOU_HOSPITAL),
                              headers=hospital(SHANZHOU_HOSPITAL))
        stay_id = r.json()["stay_id"]
        assert (await post(client, stay_id, line("L1", "1234.56"))).status_code == 201
        r = await settle(client, stay_id)
        assert r.status_code == 201, r.text
        settlement_id = r.json()["settlement_id"]
        outbox = runtime.metadata.tables["outbox"]
        async with runtime.db.transaction() as s:
            unpublished = (await s.execute(select(outbox.c.event_id).where(
                outbox.c.published_at.is_(None), outbox.c.subject == SUBJECT))).scalars().all()
        assert len(unpublished) == 1
        event_id = unpublished[0]

    restarted = create_app(settings.model_copy(), **transports)
    async with running(restarted):
        js = restarted.state.runtime.js

        async def published() -> bool:
            try:
                msg = await js.get_last_msg("ONESTOP_LEDGER", SUBJECT)
            except Exception:
                return False
            return json.loads(msg.data)["id"] == event_id

        await eventually(published)
        msg = await js.get_last_msg("ONESTOP_LEDGER", SUBJECT)
        envelope = json.loads(msg.data)
        assert envelope["subject"] == settlement_id and envelope["data"]["total"] == "1234.56"
        assert msg.headers and msg.headers.get("Nats-Msg-Id") == event_id  # JetStream drops a second copy

"""Issue 12 point 1: the agreement's life — it ends with its stay (Henan, with_stay), after its period (启东, 365
days illustrative), or when identity blacklists the person (a city-wide agreement then admits nowhere); and the
documents the hospital keeps are handed back with their history. Real identity, rules, PostgreSQL and NATS."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import nats
from ledger_api_helpers import (
    HENAN,
    NAME,
    QIDONG,
    QIDONG_PEOPLES,
    QIDONG_TCM,
    SHANZHOU_HOSPITAL,
    agreement_body,
    fresh_id,
    hospital,
    outbox,
    register,
    stay_body,
)
from sqlalchemy import text

from onestop.common.clock import today
from onestop.common.nats import ensure_stream
from onestop.common.testing import bearer
from onestop.contracts.events.base import Envelope
from onestop.contracts.events.identity import CreditChanged

H = SHANZHOU_HOSPITAL


async def sign(client: Any, number: str, region: str, code: str, **extra: Any) -> dict[str, Any]:
    r = await client.post("/v1/agreements", json=agreement_body(number, region, code, **extra), headers=hospital(code))
    assert r.status_code == 201, r.text
    return r.json()


async def admit(client: Any, agreement_id: str, code: str, **extra: Any) -> Any:
    return await client.post("/v1/stays", json=stay_body(agreement_id, code, **extra), headers=hospital(code))


async def settle(client: Any, stay_id: str) -> dict[str, Any]:
    line = {"line_id": "L1", "code": "250101001", "name": "血常规", "class": "A", "amount": "800.00",
            "occurred_at": "2026-03-11T10:00:00+08:00"}
    r = await client.post(f"/v1/stays/{stay_id}/fee-lines", json={"lines": [line]}, headers=hospital(H))
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/stays/{stay_id}/settlement", json={"discharged_at": "2026-03-20T10:00:00+08:00"},
                          headers=hospital(H))
    assert r.status_code == 201, r.text
    return r.json()


async def seen(client: Any, agreement_id: str, code: str = H) -> dict[str, Any]:
    r = await client.get(f"/v1/agreements/{agreement_id}", headers=bearer("hospital", hospital_code=code))
    assert r.status_code == 200, r.text
    return r.json()


def refused_as_ended(r: Any, agreement_id: str, reason: str) -> None:
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["agreement_id"] == agreement_id and body["end_reason"] == reason, body
    assert body["errors"] == [{"field": "agreement_id", "reason": f"ended: {reason}"}], body
    assert r.headers["content-type"].startswith("application/problem+json")


async def ended_events(app: Any, agreement_id: str) -> list[dict[str, Any]]:
    return [e["envelope"]["data"] for e in await outbox(app, agreement_id) if e["type"] == "ledger.agreement.ended.v1"]


async def test_an_agreement_ends_with_its_stay_and_a_reversal_reopens_it(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    agreement = await sign(client, number, HENAN, H)
    assert agreement["ends"] == "with_stay" and agreement["ends_on"] is None and agreement["state"] == "active"
    aid = agreement["agreement_id"]
    stay = (await admit(client, aid, H)).json()
    first = await settle(client, stay["stay_id"])

    after = await seen(client, aid)  # ended in the final settlement's transaction (Henan 001: one per admission)
    assert after["state"] == "ended" and after["end_reason"] == "with_stay" and after["ended_at"]
    assert after["ended_with_stay_id"] == stay["stay_id"]
    [event] = await ended_events(app, aid)
    assert event["reason"] == "with_stay" and event["stay_id"] == stay["stay_id"]
    assert event["person_ref"] == agreement["person_ref"] and number not in json.dumps(event)
    assert NAME not in json.dumps(event, ensure_ascii=False)
    [routed] = [e for e in await outbox(app, aid) if e["type"] == "ledger.agreement.ended.v1"]
    assert routed["subject"] == "onestop.ledger.agreement.ended.410000.411200.411203"

    # a second stay needs a new agreement
    refused_as_ended(await admit(client, aid, H, admitted_at="2026-04-01T09:00:00+08:00"), aid, "with_stay")

    # the reversal reopens the stay and the agreement with it; the re-settlement ends it again and pays the same
    r = await client.post(f"/v1/settlements/{first['settlement_id']}/reversal", json={"reason": "出院诊断录错"},
                          headers=hospital(H))
    assert r.status_code == 201, r.text
    assert (await seen(client, aid))["state"] == "active"
    assert [e["type"] for e in await outbox(app, aid)][-1] == "ledger.agreement.reopened.v1"
    r = await client.post(f"/v1/stays/{stay['stay_id']}/settlement",
                          json={"discharged_at": "2026-03-20T10:00:00+08:00"}, headers=hospital(H))
    assert r.status_code == 201 and r.json()["self_pay"] == first["self_pay"], r.text
    assert (await seen(client, aid))["end_reason"] == "with_stay"
    assert len(await ended_events(app, aid)) == 2

    fresh = await sign(client, number, HENAN, H)
    assert (await admit(client, fresh["agreement_id"], H, admitted_at="2026-04-01T09:00:00+08:00")).status_code == 201


async def test_a_cancelled_stay_ends_its_agreement_once_no_stay_under_it_is_open(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    aid = (await sign(client, number, HENAN, H))["agreement_id"]
    mother = (await admit(client, aid, H)).json()
    newborn = (await admit(client, aid, H, newborn=1)).json()
    await settle(client, mother["stay_id"])  # her newborn, admitted under her agreement, is still in
    assert (await seen(client, aid))["state"] == "active"
    r = await client.post(f"/v1/stays/{newborn['stay_id']}/cancel", json={"reason": "录入错误"}, headers=hospital(H))
    assert r.status_code == 200, r.text
    after = await seen(client, aid)
    assert after["state"] == "ended" and after["end_reason"] == "cancelled"
    assert after["ended_with_stay_id"] == newborn["stay_id"]
    assert [e["reason"] for e in await ended_events(app, aid)] == ["cancelled"]


async def test_a_period_agreement_expires_when_used_after_its_end(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")
    agreement = await sign(client, number, QIDONG, QIDONG_PEOPLES)
    last = today() + timedelta(days=364)  # 启东: 365 days, the signing day the first (illustrative)
    assert agreement["ends"] == "period" and agreement["ends_on"] == last.isoformat()
    aid = agreement["agreement_id"]
    r = await admit(client, aid, QIDONG_TCM, admitted_at=f"{last.isoformat()}T09:00:00+08:00")
    assert r.status_code == 201, r.text  # its last day still admits
    r = await client.post(f"/v1/stays/{r.json()['stay_id']}/cancel", json={"reason": "录入错误"},
                          headers=hospital(QIDONG_TCM))
    assert r.status_code == 200 and (await seen(client, aid, QIDONG_PEOPLES))["state"] == "active"  # not with_stay

    day_after = last + timedelta(days=1)
    r = await admit(client, aid, QIDONG_TCM, admitted_at=f"{day_after.isoformat()}T09:00:00+08:00")
    refused_as_ended(r, aid, "expired")
    after = await seen(client, aid, QIDONG_PEOPLES)  # the expiry committed although the admission was refused
    assert after["state"] == "ended" and after["end_reason"] == "expired"
    assert [e["reason"] for e in await ended_events(app, aid)] == ["expired"]
    refused_as_ended(await admit(client, aid, QIDONG_PEOPLES), aid, "expired")
    assert len(await ended_events(app, aid)) == 1


async def until(predicate: Any, seconds: float = 20.0) -> None:
    for _ in range(int(seconds * 10)):
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("not within the time")


async def test_a_city_wide_agreement_stops_at_every_hospital_once_identity_blacklists(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    _identity_app, identity = ledger_identity
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")
    agreement = await sign(client, number, QIDONG, QIDONG_PEOPLES)  # signed at hospital A
    aid = agreement["agreement_id"]
    other = await sign(client, number, QIDONG, QIDONG_TCM)  # a second active agreement of the person
    r = await admit(client, aid, QIDONG_TCM)  # ...used at hospital B
    assert r.status_code == 201, r.text
    assert (await seen(client, aid, QIDONG_TCM))["agreement_id"] == aid  # B, having admitted under it, reads it
    r = await client.post(f"/v1/stays/{r.json()['stay_id']}/cancel", json={"reason": "转院"},
                          headers=hospital(QIDONG_TCM))
    assert r.status_code == 200, r.text

    # blacklisted through identity's real credit path; identity.credit.changed.v2 reaches the ledger over NATS
    op = {**bearer("operator"), "Idempotency-Key": str(uuid.uuid4())}
    r = await identity.post("/v1/credit-cases", headers=op,
                            json={"id_number": number, "region_code": QIDONG, "reason": "出院后三个月未还款"})
    assert r.status_code == 201, r.text
    r = await identity.post(f"/v1/credit-cases/{r.json()['case_id']}/decision",
                            headers={**op, "Idempotency-Key": str(uuid.uuid4())},
                            json={"decision": "blacklist", "reason": "入户核实有还款能力而拒不还款",
                                  "household_visit_on": "2026-03-01"})
    assert r.status_code == 200, r.text

    async def both_ended() -> bool:
        states = [(await seen(client, a, QIDONG_PEOPLES if a == aid else QIDONG_TCM))["end_reason"]
                  for a in (aid, other["agreement_id"])]
        return states == ["blacklisted", "blacklisted"]

    await until(both_ended)
    refused_as_ended(await admit(client, aid, QIDONG_TCM), aid, "blacklisted")  # at hospital B
    refused_as_ended(await admit(client, aid, QIDONG_PEOPLES), aid, "blacklisted")  # and at A
    [event] = await ended_events(app, aid)
    assert event["reason"] == "blacklisted" and number not in json.dumps(event)


async def publish(nats_url: str, envelope: dict[str, Any], subject: str, msg_ids: list[str]) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_stream(js, "identity")
        for msg_id in msg_ids:  # past JetStream's dedupe (another Nats-Msg-Id): the inbox must hold
            await js.publish(subject, json.dumps(envelope).encode(), headers={"Nats-Msg-Id": msg_id})
    finally:
        await nc.close()


async def test_the_credit_event_is_applied_once_and_an_unreadable_one_is_parked(  # type: ignore[no-untyped-def]
        ledger, ledger_identity, ledger_nats_url) -> None:
    app, client = ledger
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")
    agreement = await sign(client, number, QIDONG, QIDONG_PEOPLES)
    aid = agreement["agreement_id"]
    event = CreditChanged(person_id=agreement["person_ref"], region_code=QIDONG, case_id=str(uuid.uuid4()),
                          state="blacklisted", reason_code="malicious_default", scope_region_code="320600",
                          blocks_direct_settlement=True, changed_at=datetime.now(UTC))  # type: ignore[arg-type]
    envelope = Envelope.wrap(event, source="/onestop/identity", time=datetime.now(UTC)).model_dump(mode="json")
    await publish(ledger_nats_url, envelope, event.nats_subject(), [envelope["id"], f"again-{uuid.uuid4()}"])

    async def ended() -> bool:
        return (await seen(client, aid, QIDONG_PEOPLES))["state"] == "ended"

    await until(ended)
    await asyncio.sleep(1.0)
    assert len(await ended_events(app, aid)) == 1

    bad = Envelope.wrap(event.model_copy(update={"person_id": str(uuid.uuid4())}), source="/onestop/identity",
                        time=datetime.now(UTC)).model_dump(mode="json")
    del bad["data"]["state"]
    await publish(ledger_nats_url, bad, event.nats_subject(), [bad["id"]])
    op = bearer("operator", subject="operator:t")

    async def parked() -> bool:
        items = (await client.get("/v1/parked-events", headers=op)).json()["items"]
        return any(i["event_id"] == bad["id"] and i["consumer"] == "ledger-credit" for i in items)

    await until(parked, 30.0)


async def test_documents_are_handed_back_with_their_history(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    agreement = await sign(client, number, HENAN, H, documents=["insurance_card", "id_copy", "poverty_card"])
    aid = agreement["agreement_id"]
    url = f"/v1/agreements/{aid}/documents:return"
    headers = {**bearer("hospital", hospital_code=H, subject="hospital:desk-3"), "Idempotency-Key": str(uuid.uuid4())}
    body = {"documents": ["id_copy"], "returned_to": "spouse"}
    r = await client.post(url, json=body, headers=headers)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["documents"] == ["insurance_card", "poverty_card"]
    returned = [h for h in after["custody"] if h["action"] == "returned"]
    assert [(h["kind"], h["returned_to"]) for h in returned] == [("id_copy", "spouse")]
    assert returned[0]["by"] == "hospital:desk-3"
    assert [h["action"] for h in after["custody"]] == ["kept", "kept", "kept", "returned"]
    again = await client.post(url, json=body, headers=headers)  # same key, same body: the stored answer
    assert again.status_code == 200 and again.json() == after

    r = await client.post(url, json=body, headers=hospital(H))  # a card not held now
    assert r.status_code == 409 and r.json()["not_held"] == ["id_copy"], r.text
    r = await client.post(url, json={"documents": ["id_copy", "insurance_card"], "returned_to": "self"},
                          headers=hospital(H))
    assert r.status_code == 409 and r.json()["not_held"] == ["id_copy"], r.text  # nothing half-written
    assert (await seen(client, aid))["documents"] == ["insurance_card", "poverty_card"]

    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    r = await client.post(url, json={"documents": ["poverty_card"], "returned_to": "self", "returned_at": future},
                          headers=hospital(H))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "returned_at", r.text
    r = await client.post(url, json={"documents": ["poverty_card"], "returned_to": "neighbour"}, headers=hospital(H))
    assert r.status_code == 422 and "returned_to" in r.text, r.text
    r = await client.post(url, json={"documents": [], "returned_to": "self"}, headers=hospital(H))
    assert r.status_code == 422 and "documents" in r.text, r.text

    # another hospital neither sees nor returns; a bureau of the region reads; nobody else changes
    assert (await client.post(url, json=body, headers=hospital("H411203999"))).status_code == 404
    r = await client.get(f"/v1/agreements/{aid}", headers=bearer("hospital", hospital_code="H411203999"))
    assert r.status_code == 404
    reader = bearer("bureau", region_code="410000", subject="bureau:henan-1")
    assert (await client.get(f"/v1/agreements/{aid}", headers=reader)).status_code == 200
    r = await client.post(url, json=body, headers={**bearer("bureau", region_code="410000"),
                                                   "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 403
    assert (await client.get(f"/v1/agreements/{uuid.uuid4()}", headers=bearer("operator"))).status_code == 404
    async with app.state.runtime.db.transaction() as s:  # each read of the agreement is in the access audit
        audited = (await s.execute(text("SELECT subject, endpoint, detail FROM access_audit WHERE person_ref = :p "
                                        "ORDER BY id"), {"p": agreement["person_ref"]})).all()
    assert ("bureau:henan-1", "GET /v1/agreements/{agreement_id}", aid) in [tuple(a) for a in audited]
    assert (await client.get("/v1/agreements/not-a-uuid", headers=bearer("operator"))).status_code == 404

    # the payments use case returns them inside its own transaction, with the same history and event
    from onestop.ledger.agreements.custody import return_documents

    runtime = app.state.runtime
    async with runtime.db.transaction() as session:
        still = await return_documents(runtime, session, aid, kinds=["insurance_card", "poverty_card"],
                                       returned_to="self", actor="service:payments")
    assert still == []
    final = await seen(client, aid)
    assert final["documents"] == [] and final["custody"][-1]["by"] == "service:payments"

    events = [e for e in await outbox(app, aid) if e["type"] == "ledger.documents.returned.v1"]
    assert [(e["envelope"]["data"]["documents"], e["envelope"]["data"]["returned_to"]) for e in events] == [
        (["id_copy"], "spouse"), (["insurance_card", "poverty_card"], "self")]
    assert events[0]["subject"] == "onestop.ledger.documents.returned.410000.411200.411203"
    async with runtime.db.transaction() as s:
        dump = (await s.execute(text("SELECT (SELECT json_agg(d)::text FROM document_custody d) || "
                                     "(SELECT json_agg(o)::text FROM outbox o)"))).scalar_one()
    assert number not in dump and NAME not in dump


async def test_two_desks_returning_one_card_at_once_hand_it_back_once(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    from onestop.ledger.agreements.custody import return_documents

    app, client = ledger
    runtime = app.state.runtime
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    aid = (await sign(client, number, HENAN, H, documents=["insurance_card"]))["agreement_id"]
    async with runtime.db.transaction() as session:  # the payments window hands it back, not yet committed...
        await return_documents(runtime, session, aid, kinds=["insurance_card"], returned_to="self",
                               actor="service:payments")
        desk = asyncio.create_task(client.post(f"/v1/agreements/{aid}/documents:return", headers=hospital(H),
                                               json={"documents": ["insurance_card"], "returned_to": "spouse"}))
        await asyncio.sleep(0.5)
        assert not desk.done()  # ...so the desk waits for it instead of reading the card as still held
    r = await desk
    assert r.status_code == 409 and r.json()["not_held"] == ["insurance_card"], r.text
    history = (await seen(client, aid))["custody"]
    assert [(h["action"], h["returned_to"]) for h in history] == [("kept", None), ("returned", "self")]
    assert len([e for e in await outbox(app, aid) if e["type"] == "ledger.documents.returned.v1"]) == 1


async def test_an_admission_racing_the_agreements_end_waits_for_it(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    from onestop.ledger.agreements import lifecycle

    app, client = ledger
    runtime = app.state.runtime
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")
    agreement = await sign(client, number, QIDONG, QIDONG_PEOPLES)
    async with runtime.db.transaction() as session:  # the credit consumer ending it, not yet committed...
        assert await lifecycle.revoke_person(runtime, session, agreement["person_ref"], datetime.now(UTC)) == 1
        admission = asyncio.create_task(admit(client, agreement["agreement_id"], QIDONG_TCM))
        await asyncio.sleep(1.0)
        assert not admission.done()  # ...so the admission waits, and does not open a stay under an ended agreement
    refused_as_ended(await admission, agreement["agreement_id"], "blacklisted")

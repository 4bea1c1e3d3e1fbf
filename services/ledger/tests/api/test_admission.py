"""Issue 12, first slice: the treat-first agreement and the deposit-free admission against a real identity and
rules (registers imported into identity, the shipped policies in rules), real PostgreSQL and NATS."""

from __future__ import annotations

import json
import uuid

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

from onestop.common.testing import bearer


async def test_sign_then_admit_without_deposit_snapshots_the_person(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")

    headers = hospital(SHANZHOU_HOSPITAL)
    body = agreement_body(number, HENAN, SHANZHOU_HOSPITAL, documents=["insurance_card", "id_copy"])
    r = await client.post("/v1/agreements", json=body, headers=headers)
    assert r.status_code == 201, r.text
    signed = r.json()
    assert signed["scope"] == "hospital" and signed["documents"] == ["insurance_card", "id_copy"]
    assert signed["signer"] == {"relation": "self"} and signed["categories"] == ["registered_poor"]
    assert number not in r.text and NAME not in r.text
    again = await client.post("/v1/agreements", json=body, headers=headers)  # same key, same body: same answer
    assert again.status_code == 201 and again.json() == signed

    # nothing of the person in clear anywhere in the ledger's database, the outbox included
    async with app.state.runtime.db.transaction() as s:
        dump = (await s.execute(text("SELECT (SELECT json_agg(a)::text FROM agreement a) || "
                                     "(SELECT json_agg(o)::text FROM outbox o)"))).scalar_one()
    assert number not in dump and NAME not in dump and number[6:14] not in dump

    [event] = await outbox(app, signed["agreement_id"])
    assert event["subject"] == "onestop.ledger.agreement.signed.410000.411200.411203"
    assert event["envelope"]["data"]["person_ref"] == signed["person_ref"]

    r = await client.post("/v1/stays", json=stay_body(signed["agreement_id"], SHANZHOU_HOSPITAL,
                                                      expected_cost="3000.00", disease_code="I63.9"),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 201, r.text
    stay = r.json()
    assert stay["deposit"] == "0.00" and stay["hospital_level"] == "county" and stay["kind"] == "inpatient"
    assert stay["expected_cost"] == "3000.00" and stay["state"] == "open"
    assert stay["person"]["categories"] == ["registered_poor"] and stay["person"]["insurance"] == "resident"
    assert stay["person"]["household"] == "rural" and isinstance(stay["person"]["age"], int)
    assert stay["eligibility"]["date"] == "2026-03-10"
    [admitted] = await outbox(app, stay["stay_id"])
    assert admitted["subject"] == "onestop.ledger.stay.admitted.410000.411200.411203"
    assert number not in json.dumps(admitted["envelope"])

    # one open stay per person per hospital: the second admission names the open one
    r = await client.post("/v1/stays", json=stay_body(signed["agreement_id"], SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 409 and r.json()["open_stay_id"] == stay["stay_id"], r.text

    seen = await client.get(f"/v1/stays/{stay['stay_id']}", headers=bearer("hospital", hospital_code=SHANZHOU_HOSPITAL))
    assert seen.status_code == 200 and seen.json() == stay
    other = await client.get(f"/v1/stays/{stay['stay_id']}", headers=bearer("hospital", hospital_code="H1"))
    assert other.status_code == 404
    bureau = await client.get(f"/v1/stays/{stay['stay_id']}", headers=bearer("bureau", region_code="410000"))
    assert bureau.status_code == 200

    r = await client.post(f"/v1/stays/{stay['stay_id']}/cancel", json={"reason": "录入错误"},
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    assert [e["type"] for e in await outbox(app, stay["stay_id"])] == ["ledger.stay.admitted.v1",
                                                                       "ledger.stay.cancelled.v1"]
    r = await client.post(f"/v1/stays/{stay['stay_id']}/cancel", json={"reason": "again"},
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 409
    # cancelled: Henan's agreement ends with its stay (001 三(一), with_stay), so it admits no more; the person
    # may be admitted again under a new one
    r = await client.post("/v1/stays", json=stay_body(signed["agreement_id"], SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 409 and r.json()["end_reason"] == "cancelled", r.text
    r = await client.post("/v1/agreements", json=body, headers=hospital(SHANZHOU_HOSPITAL))
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 201, r.text


async def test_not_eligible_is_a_422_with_identitys_reasons_and_nothing_written(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, None, "城乡居民")  # insured, on no assistance register

    async def written() -> tuple[int, int, int]:
        async with app.state.runtime.db.transaction() as s:
            return tuple((await s.execute(text(  # type: ignore[return-value]
                "SELECT (SELECT count(*) FROM agreement), (SELECT count(*) FROM document_custody), "
                "(SELECT count(*) FROM outbox)"))).one())

    before = await written()
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL,
                                                                documents=["id_copy"]),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"].endswith("/not-eligible") and problem["reasons"]
    assert all(reason["code"] and reason["text_zh"] for reason in problem["reasons"])
    assert number not in r.text
    assert await written() == before


async def test_bad_input_and_scopes(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, "H999999999"),
                          headers={**bearer("operator"), "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hospital_code", r.text
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                          headers=hospital("H1"))
    assert r.status_code == 403, r.text
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                          headers=bearer("hospital", hospital_code=SHANZHOU_HOSPITAL))
    assert r.status_code == 428, r.text  # Idempotency-Key required
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    agreement_id = r.json()["agreement_id"]
    r = await client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL),
                          headers=hospital("H411203999"))
    assert r.status_code == 403, r.text  # another hospital than the token's
    r = await client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL, hospital_level="city"),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "hospital_level", r.text
    r = await client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL,
                                                      admitted_at="2026-03-10T09:30:00"),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 422, r.text  # a time without its zone
    r = await client.post("/v1/stays", json=stay_body(str(uuid.uuid4()), SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 404, r.text
    r = await client.post("/v1/stays", json=stay_body("0" * 36, SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    assert r.status_code == 422 and "agreement_id" in r.text, r.text  # not a UUID: no database error, a 422
    r = await client.get("/v1/stays/not-a-uuid", headers=bearer("operator"))
    assert r.status_code == 404, r.text


async def test_two_admissions_at_once_open_one_stay(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    _app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    agreement_id = r.json()["agreement_id"]
    answers = await asyncio.gather(*(client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL),
                                                 headers=hospital(SHANZHOU_HOSPITAL)) for _ in range(4)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [201, 409, 409, 409], [a.text for a in answers]
    opened = next(a.json()["stay_id"] for a in answers if a.status_code == 201)
    assert all(a.json()["open_stay_id"] == opened for a in answers if a.status_code == 409)


async def test_a_city_wide_agreement_admits_at_another_public_hospital_of_the_city(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")  # 启东 admits employee-insured people
    r = await client.post("/v1/agreements", json=agreement_body(number, QIDONG, QIDONG_PEOPLES),
                          headers=hospital(QIDONG_PEOPLES))
    assert r.status_code == 201, r.text
    agreement = r.json()
    assert agreement["scope"] == "city"
    r = await client.post("/v1/stays", json=stay_body(agreement["agreement_id"], QIDONG_TCM),
                          headers=hospital(QIDONG_TCM))
    assert r.status_code == 201, r.text
    assert r.json()["hospital_code"] == QIDONG_TCM and r.json()["person"]["insurance"] == "employee"
    # ...but a hospital-scope agreement of another hospital is not even seen by the admitting hospital
    henan = fresh_id(HENAN)
    await register(ledger_identity, henan, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(henan, HENAN, SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], QIDONG_TCM),
                          headers=hospital(QIDONG_TCM))
    assert r.status_code in (404, 422), r.text


async def test_a_newborn_is_admitted_under_its_mothers_agreement(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                          headers=hospital(SHANZHOU_HOSPITAL))
    agreement_id = r.json()["agreement_id"]
    mother = await client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL),
                               headers=hospital(SHANZHOU_HOSPITAL))
    twins = [await client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL, newborn=n),
                               headers=hospital(SHANZHOU_HOSPITAL)) for n in (1, 2)]
    assert [a.status_code for a in (mother, *twins)] == [201, 201, 201], [a.text for a in (mother, *twins)]
    assert [t.json()["newborn"] for t in twins] == [1, 2] and mother.json()["newborn"] is None
    assert all(t.json()["person"]["age"] == 0 and t.json()["person_ref"] == mother.json()["person_ref"]
               for t in twins)
    again = await client.post("/v1/stays", json=stay_body(agreement_id, SHANZHOU_HOSPITAL, newborn=1),
                              headers=hospital(SHANZHOU_HOSPITAL))
    assert again.status_code == 409 and again.json()["open_stay_id"] == twins[0].json()["stay_id"]


async def test_identity_unreachable_is_a_503_and_nothing_is_written(  # type: ignore[no-untyped-def]
        settings_for, ledger_rules, ledger_identity) -> None:
    import httpx

    from onestop.cli.embedded import free_port
    from onestop.common.testing import running
    from onestop.ledger.app import create_app

    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    app = create_app(settings_for("ledger", identity_url=f"http://127.0.0.1:{free_port()}"),
                     rules_transport=httpx.ASGITransport(ledger_rules))
    async with running(app) as client:
        r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, SHANZHOU_HOSPITAL),
                              headers=hospital(SHANZHOU_HOSPITAL))
        assert r.status_code == 503 and r.headers["retry-after"], r.text
        assert r.json()["dependency"] == "identity" and number not in r.text
        async with app.state.runtime.db.transaction() as s:
            assert (await s.execute(text("SELECT (SELECT count(*) FROM agreement) + "
                                         "(SELECT count(*) FROM outbox)"))).scalar_one() == 0

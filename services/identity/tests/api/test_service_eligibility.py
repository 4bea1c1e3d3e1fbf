"""The ledger's `service` call to POST /v1/eligibility (issue 10 point 3): the person facts a quote needs, which a
hospital does not see; least privilege for every other service and endpoint (api/service_grants.py); the audit
row naming the calling service and the hospital; the same answer through the fast lane and the route."""

from __future__ import annotations

from datetime import date
from typing import Any

from identity_api_helpers import EN, auth, csv_bytes, make_id, row, unique_seq, upload
from sqlalchemy import text as sql

from onestop.common.testing import session_keys
from onestop.common.tokens import ServiceTokenMinter
from onestop.contracts.eligibility import EligibilityAnswer
from onestop.contracts.quote import Person

DOCUMENTED = {f.alias or name for name, f in EligibilityAnswer.model_fields.items()}

ON = "2026-03-10"
REGION, HOSPITAL = "411203", "H411203001"
# application/json is answered by the fast lane; another charset goes through the route (test_read_scopes)
ROUTED = {"content-type": "application/json; charset=latin-1"}


def service(name: str) -> dict[str, str]:
    """What the named service sends identity: a token minted with its own key for audience identity."""
    token = ServiceTokenMinter(name, session_keys().service_keys[name]).token_for("identity")
    return {"Authorization": f"Bearer {token}"}


async def child_with_facts(client: Any, app: Any) -> str:
    """A registered-poor, subsistence-allowance rural child with a severe disability, disease class C and no
    labour in the household, insured as a resident; born 2016-03-11, so 9 on ON (the day before turning 10)."""
    number = make_id(REGION, unique_seq(), date(2016, 3, 11))
    header = [*EN, "disease_class", "labour"]
    rows = [row(number, "建档立卡贫困人口", REGION, household="农村", disability="重度", name="刘志强") + ["C", "无"],
            row(number, "低保对象", REGION, household="农村", disability="重度", name="刘志强") + ["C", "无"],
            row(number, "参保人员", REGION, insurance="城乡居民", name="刘志强") + ["", ""]]
    for source, part in (("poverty_office", rows[:1]), ("civil_affairs", rows[1:2]), ("insurance", rows[2:])):
        r = await upload(client, app, csv_bytes(part, header=header), source=source)
        assert r.status_code == 201 and not r.json()["rejected"], r.text
    return number


async def ask(client: Any, headers: dict[str, str], number: str) -> Any:
    return await client.post("/v1/eligibility", headers=headers,
                             json={"id_number": number, "region_code": REGION, "hospital_code": HOSPITAL, "date": ON})


async def test_the_ledger_is_answered_the_quote_person_and_a_hospital_is_not(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    number = await child_with_facts(client, app)
    answers = [await ask(client, {**service("ledger"), **extra}, number) for extra in ({}, ROUTED)]
    for r in answers:
        assert r.status_code == 200, r.text
        assert number not in r.text and "刘志强" not in r.text and "2016-03-11" not in r.text
    fast, routed = (r.json() for r in answers)
    assert fast == routed
    assert fast["eligible"] is True and fast["age"] == 9 and fast["birth_year"] == 2016
    assert fast["person"] == {"categories": ["registered_poor", "subsistence_allowance"], "insurance": "resident",
                              "disability": "severe", "disease_class": "C", "labour": False, "household": "rural",
                              "age": 9}
    assert Person.model_validate(fast["person"]).age == 9  # the ledger snapshots it and quotes with it as is
    # what the ledger parses (libs/contracts) and the OpenAPI documents is what is answered, every field of it
    assert EligibilityAnswer.model_validate(fast).person == Person.model_validate(fast["person"])
    assert set(fast) == DOCUMENTED
    assert fast["id_number_masked"] == number[:4] + "*" * 10 + number[-4:]

    hospital = auth(app, "hospital", hospital_code=HOSPITAL)
    for extra in ({}, ROUTED):
        r = await ask(client, {**hospital, **extra}, number)
        assert r.status_code == 200, r.text
        seen = r.json()
        assert "person" not in seen and "age" not in seen and "disease_class" not in r.text
        # otherwise the very answer the ledger got: a hospital's answer is unchanged
        assert seen == {k: v for k, v in fast.items() if k not in ("person", "age")}
        assert EligibilityAnswer.model_validate(seen).person is None


async def test_a_service_call_is_audited_with_the_service_and_the_hospital(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    number = await child_with_facts(client, app)
    r = await ask(client, service("ledger"), number)
    assert r.status_code == 200, r.text
    async with app.state.runtime.db.transaction() as s:
        rows = (await s.execute(sql("SELECT subject, role, hospital_code, endpoint FROM access_audit "
                                    "WHERE person_id = :p"), {"p": r.json()["person_id"]})).all()
    assert ("service:ledger", "service", HOSPITAL, "POST /v1/eligibility") in [tuple(x) for x in rows]


async def test_an_unknown_or_uninsured_person_has_no_quote_person(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    unknown = make_id(REGION, unique_seq(), date(1950, 1, 2))
    body = (await ask(client, service("ledger"), unknown)).json()
    assert body["person_id"] is None and body["person"] is None and body["age"] == 76
    uninsured = make_id(REGION, unique_seq(), date(1980, 7, 1))
    r = await upload(client, app, csv_bytes([row(uninsured, "建档立卡贫困人口", REGION)]))
    assert r.status_code == 201 and not r.json()["rejected"], r.text
    body = (await ask(client, service("ledger"), uninsured)).json()
    assert body["person_id"] and body["eligible"] is False and body["person"] is None and body["age"] == 45


async def test_other_services_and_other_endpoints_are_refused_with_403(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    number = await child_with_facts(client, app)
    for name in ("rules", "clearing"):
        for extra in ({}, ROUTED):
            r = await ask(client, {**service(name), **extra}, number)
            assert r.status_code == 403, r.text
            assert r.headers["content-type"].startswith("application/problem+json") and number not in r.text
    ledger = service("ledger")
    person_id = (await ask(client, ledger, number)).json()["person_id"]
    refused = [client.get(f"/v1/persons/{person_id}", headers=ledger),
               client.get("/v1/access-audit", headers=ledger),
               client.get("/v1/parked-events", headers=ledger),
               client.post("/v1/credit-cases", headers={**ledger, "Idempotency-Key": "k1"},
                           json={"id_number": number, "region_code": REGION, "reason": "x"}),
               client.post("/v1/imports", headers={**ledger, "Idempotency-Key": "k2"},
                           files={"file": ("r.csv", b"x")}, data={"source": "insurance"})]
    for call in refused:
        r = await call
        assert r.status_code == 403 and r.json()["status"] == 403, r.text

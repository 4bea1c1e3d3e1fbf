"""GET /v1/persons/{person_id}/name (issue 13 point 5): the full name and masked ID number the ledger prints on a
patient's documents, to the ledger's `service` token only, each read in the access audit with the ledger as
subject and the endpoint; every other caller is refused."""

from __future__ import annotations

import uuid

from identity_api_helpers import auth, csv_bytes, make_id, row, unique_seq, upload
from sqlalchemy import text as sql
from test_service_eligibility import HOSPITAL, REGION, ask, service


async def test_the_ledger_reads_the_name_and_masked_number_and_the_read_is_audited(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    number = make_id(REGION, unique_seq())
    r = await upload(client, app, csv_bytes([row(number, "参保人员", REGION, insurance="城乡居民", name="赵桂兰")]),
                     source="insurance")
    assert r.status_code == 201 and not r.json()["rejected"], r.text
    person_id = (await ask(client, service("ledger"), number)).json()["person_id"]

    r = await client.get(f"/v1/persons/{person_id}/name", headers=service("ledger"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {"person_id": person_id, "name": "赵桂兰", "id_number_masked": body["id_number_masked"]}
    masked = body["id_number_masked"]
    assert masked != number and masked[:4] == number[:4] and masked[-4:] == number[-4:] and "*" in masked
    async with app.state.runtime.db.transaction() as s:
        rows = (await s.execute(sql("SELECT subject, role, endpoint FROM access_audit WHERE person_id = :p "
                                    "AND endpoint LIKE '%/name'"), {"p": person_id})).all()
    assert [tuple(x) for x in rows] == [("service:ledger", "service", "GET /v1/persons/{person_id}/name")]


async def test_no_one_else_reads_a_name(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    some = str(uuid.uuid4())
    for headers in (service("clearing"), service("rules"), auth(app, "operator"),
                    auth(app, "hospital", hospital_code=HOSPITAL), auth(app, "bureau", region_code=REGION)):
        r = await client.get(f"/v1/persons/{some}/name", headers=headers)
        assert r.status_code == 403, (headers, r.text)
    assert (await client.get(f"/v1/persons/{some}/name", headers=service("ledger"))).status_code == 404
    assert (await client.get("/v1/persons/not-a-uuid/name", headers=service("ledger"))).status_code == 404
    assert (await client.get(f"/v1/persons/{some}/name")).status_code == 401

"""Who may read what (issue 10 point 4): a hospital sees only persons it checked, every lookup is audited by
blind index, hospital and bureau tokens are rate-limited on both lanes, a masked number comes with a year."""

from __future__ import annotations

import json
from typing import Any

from identity_api_helpers import auth, csv_bytes, fresh_ids, row, upload
from sqlalchemy import text

from onestop.common.ratelimit import RateLimiter

GUYANG, H1, H2 = "150222", "H150222001", "H150222002"
ON = "2026-03-10"


async def _load(client: Any, app: Any, number: str) -> None:
    r = await upload(client, app, csv_bytes([row(number, "特困供养人员", GUYANG),
                                             row(number, "参保人员", GUYANG, insurance="城乡居民")]))
    assert r.status_code == 201 and not r.json()["rejected"], r.text


def _body(number: str, hospital: str = H1) -> dict[str, str]:
    return {"id_number": number, "region_code": GUYANG, "hospital_code": hospital, "date": ON}


async def test_a_hospital_reads_only_persons_it_checked_within_the_window(identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    checked, unchecked = fresh_ids(GUYANG, 2)
    await _load(client, app, checked)
    await _load(client, app, unchecked)
    h1, h2 = auth(app, "hospital", hospital_code=H1), auth(app, "hospital", hospital_code=H2)
    r = await client.post("/v1/eligibility", headers=h1, json=_body(checked))
    assert r.status_code == 200 and r.json()["eligible"], r.text
    person_id = r.json()["person_id"]
    # The masked number comes with the birth year, never the birth date it was masked to hide.
    assert r.json()["birth_year"] == int(checked[6:10]) and checked[6:14] not in r.text
    r = await client.post("/v1/eligibility", headers=auth(app), json=_body(unchecked))
    other_id = r.json()["person_id"]

    seen = await client.get(f"/v1/persons/{person_id}", headers=h1)
    assert seen.status_code == 200 and seen.json()["birth_year"] == int(checked[6:10]), seen.text
    for headers, pid in ((h2, person_id), (h1, other_id)):  # another hospital; a person H1 never checked
        got = await client.get(f"/v1/persons/{pid}", headers=headers)
        assert got.status_code == 404 and got.headers["content-type"].startswith("application/problem+json")
    operator = await client.get(f"/v1/persons/{person_id}", headers=auth(app))
    assert operator.status_code == 200 and "birth_date" not in operator.json()
    assert checked[6:14] not in operator.text and operator.json()["birth_year"] == int(checked[6:10])

    # Past the window the hospital's check no longer opens the person.
    monkeypatch.setattr(app.state.runtime.settings, "hospital_person_window_days", 2)
    async with app.state.runtime.db.transaction() as s:
        await s.execute(text("UPDATE access_audit SET at = now() - interval '3 days' WHERE person_id = :p"),
                        {"p": person_id})
    assert (await client.get(f"/v1/persons/{person_id}", headers=h1)).status_code == 404


async def test_an_unknown_number_is_audited_by_its_blind_index(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    (unknown,) = fresh_ids(GUYANG, 1)
    r = await client.post("/v1/eligibility", headers=auth(app, "hospital", hospital_code=H1), json=_body(unknown))
    assert r.status_code == 200 and r.json()["person_id"] is None
    index = app.state.runtime.extras["pii"].blind_index(unknown)
    async with app.state.runtime.db.transaction() as s:
        rows = (await s.execute(text("SELECT * FROM access_audit WHERE id_index = :i"), {"i": index})).all()
        assert len(rows) == 1 and rows[0].person_id is None and rows[0].hospital_code == H1
        everything = (await s.execute(text("SELECT string_agg(access_audit::text, '|') FROM access_audit"))).scalar()
    assert unknown not in everything


async def test_hospital_and_bureau_tokens_get_429_with_retry_after_on_both_lanes(identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    monkeypatch.setitem(app.state.runtime.extras, "rate_limiter", RateLimiter(per_minute=6, burst=3))
    (number,) = fresh_ids(GUYANG, 1)
    fast = auth(app, "hospital", hospital_code=H1, subject="hospital:H1:ratelimit")
    # application/json is answered by the fast lane; another charset goes through the route and its dependency
    routed = {**auth(app, "bureau", region_code=GUYANG, subject="bureau:ratelimit"),
              "content-type": "application/json; charset=latin-1"}
    for headers in (fast, routed):
        answers = [await client.post("/v1/eligibility", headers=headers, content=json.dumps(_body(number)))
                   for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429], [a.text for a in answers]
        refused = answers[-1]
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["status"] == 429 and int(refused.headers["retry-after"]) >= 1
    # a body the fast lane hands back to the route (FastAPI's 422) is counted once, not by both
    once = auth(app, "hospital", hospital_code=H1, subject="hospital:H1:invalid")
    answers = [await client.post("/v1/eligibility", headers=once, json={"id_number": number}) for _ in range(3)]
    answers.append(await client.post("/v1/eligibility", headers=once, json=_body(number)))
    assert [a.status_code for a in answers] == [422, 422, 422, 429], [a.text for a in answers]
    # other routes of the token are counted too; an operator (the bench's token) and other tokens are not
    assert (await client.get("/v1/persons/00000000-0000-0000-0000-000000000000", headers=fast)).status_code == 429
    for _ in range(5):
        r = await client.post("/v1/eligibility", headers=auth(app), json=_body(number))
        assert r.status_code == 200
    other = auth(app, "hospital", hospital_code=H1, subject="hospital:H1:other")
    assert (await client.post("/v1/eligibility", headers=other, json=_body(number))).status_code == 200

"""A bureau's import changes only its own region's statuses and a profile inside its scope (issue 10 point 4)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
from identity_api_helpers import auth, csv_bytes, drained, fresh_ids, idem, row, upload

SHANZHOU, GUYANG = "411203", "150222"


async def _person(client: Any, app: Any, import_id: str) -> dict[str, Any]:
    view = await client.get(f"/v1/imports/{import_id}", headers=auth(app))
    assert view.status_code == 200
    async with app.state.runtime.db.transaction() as s:
        from sqlalchemy import text
        person_id = (await s.execute(text("SELECT person_id::text FROM person_status WHERE import_id = :i"),
                                     {"i": import_id})).scalar_one()
    got = await client.get(f"/v1/persons/{person_id}", headers=auth(app))
    assert got.status_code == 200, got.text
    return got.json()


async def test_a_bureau_cannot_end_another_regions_status_nor_rewrite_the_domicile(identity, nats_url) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    (number,) = fresh_ids(SHANZHOU, 1)
    first = await upload(client, app, csv_bytes([row(number, "建档立卡贫困人口", SHANZHOU, household="农村")]))
    assert first.status_code == 201 and first.json()["accepted"] == 1, first.text

    # Guyang's bureau sends the same person, category, source and start date with an exit date and its own
    # region: on the old key (category, source, valid_from) this superseded Shanzhou's status with an ended
    # one and moved the person's domicile to 150222.
    exit_row = row(number, "建档立卡贫困人口", GUYANG, valid_to="2025-06-30", household="城镇")
    await drained(app)
    got: list[dict[str, Any]] = []
    nc = await nats.connect(nats_url)

    async def cb(msg: Any) -> None:
        got.append({**json.loads(msg.data), "nats_subject": msg.subject})

    await nc.subscribe("onestop.identity.person.status.changed.>", cb=cb)
    try:
        r = await upload(client, app, csv_bytes([exit_row]), headers=idem(app, "bureau", region_code=GUYANG))
        await drained(app)
        await asyncio.sleep(0.3)
    finally:
        await nc.close()
    assert r.status_code == 201, r.text
    # announced to Guyang's subscribers as an added status of Guyang's, not to Shanzhou's as an ending
    assert [(e["nats_subject"].rsplit(".", 3)[1:], [c["change"] for c in e["data"]["changes"]]) for e in got] == [
        (["150000", "150200", "150222"], ["added"])]
    body = r.json()
    assert body["accepted"] == 1
    assert [(e["row"], e["field"]) for e in body["rejected"]] == [(2, "region_code")]
    assert "domicile is in another region" in body["rejected"][0]["reason"]

    person = await _person(client, app, first.json()["import_id"])
    current = [s for s in person["statuses"] if s["superseded_at"] is None]
    assert sorted((s["region_code"], s["valid_to"]) for s in current) == [(GUYANG, "2025-06-30"), (SHANZHOU, None)]
    assert person["profile"]["domicile_region"] == SHANZHOU and person["profile"]["household"] == "rural"
    assert len(person["profile_history"]) == 1

    # Shanzhou's own bureau still ends its own status and changes the profile it owns.
    own = row(number, "建档立卡贫困人口", SHANZHOU, valid_to="2025-12-31", household="城镇")
    r = await upload(client, app, csv_bytes([own]), headers=idem(app, "bureau", region_code=SHANZHOU))
    assert r.status_code == 201 and r.json()["rejected"] == [], r.text
    person = await _person(client, app, first.json()["import_id"])
    current = {s["region_code"]: s["valid_to"] for s in person["statuses"] if s["superseded_at"] is None}
    assert current == {GUYANG: "2025-06-30", SHANZHOU: "2025-12-31"}
    assert person["profile"]["household"] == "urban"

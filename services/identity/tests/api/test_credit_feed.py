"""The credit feed (004 二(四)): only blacklistings and lifts, with codes, never the operator's words; a
`credit_feed` token resolves an entry's person through an audited endpoint (issue 10 point 4)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import nats
from identity_api_helpers import auth, csv_bytes, fresh_ids, idem, row, upload
from sqlalchemy import text

QIDONG = "320681"
SECRET_WORDS = "入户核实：邻居说他在外地打工月入八千"


async def _feed(nats_url: str, got: list[dict[str, Any]]) -> Any:
    nc = await nats.connect(nats_url)

    async def cb(msg: Any) -> None:
        got.append(json.loads(msg.data))

    await nc.subscribe("onestop.identity.credit.changed.>", cb=cb)
    return nc


async def _until(got: list[dict[str, Any]], n: int) -> None:
    for _ in range(100):
        if len(got) >= n:
            await asyncio.sleep(0.3)  # and nothing more arrives
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(got)} feed events, expected {n}")


async def test_the_feed_has_decisions_in_codes_and_resolves_through_an_audited_endpoint(identity, nats_url) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    number, dismissed_number = fresh_ids(QIDONG, 2)
    r = await upload(client, app, csv_bytes([row(number, "参保人员", QIDONG, insurance="职工", name="刘志强"),
                                             row(dismissed_number, "参保人员", QIDONG, insurance="职工")]),
                     source="insurance")
    assert r.status_code == 201, r.text
    got: list[dict[str, Any]] = []
    nc = await _feed(nats_url, got)
    try:
        cases = []
        for n in (number, dismissed_number):
            r = await client.post("/v1/credit-cases", headers=idem(app),
                                  json={"id_number": n, "region_code": QIDONG, "reason": SECRET_WORDS})
            assert r.status_code == 201, r.text
            cases.append(r.json()["case_id"])
        case_id, other_case = cases
        r = await client.post(f"/v1/credit-cases/{other_case}/decision", headers=idem(app),
                              json={"decision": "dismiss", "reason": SECRET_WORDS})
        assert r.status_code == 200, r.text
        r = await client.post(f"/v1/credit-cases/{case_id}/decision", headers=idem(app),
                              json={"decision": "blacklist", "reason": SECRET_WORDS,
                                    "household_visit_on": "2026-03-01"})
        assert r.status_code == 200 and r.json()["history"][-1]["reason_code"] == "malicious_default", r.text
        r = await client.post(f"/v1/credit-cases/{case_id}/lift", headers=idem(app),
                              json={"reason": SECRET_WORDS, "reason_code": "repaid"})
        assert r.status_code == 200, r.text
        await _until(got, 2)
    finally:
        await nc.close()
    # Two suspicions and a dismissal are not in the feed; the two decisions are, in codes.
    assert [(e["type"], e["data"]["state"], e["data"]["reason_code"]) for e in got] == [
        ("identity.credit.changed.v2", "blacklisted", "malicious_default"),
        ("identity.credit.changed.v2", "lifted", "repaid")]
    for e in got:
        assert e["data"]["region_code"] == QIDONG and e["data"]["case_id"] == case_id
        assert "reason" not in e["data"] and "decided_by" not in e["data"]
        assert SECRET_WORDS not in json.dumps(e, ensure_ascii=False) and number not in json.dumps(e)

    feed = auth(app, "credit_feed", region_code=QIDONG)
    r = await client.get(f"/v1/credit-feed/{case_id}/person", headers=feed)
    assert r.status_code == 200, r.text
    assert r.json()["id_number"] == number and r.json()["name"] == "刘志强" and r.json()["state"] == "lifted"
    async with app.state.runtime.db.transaction() as s:
        audited = (await s.execute(text("SELECT subject, role, person_id::text FROM access_audit "
                                        "WHERE endpoint = 'GET /v1/credit-feed/{case_id}/person'"))).all()
    assert (feed_subject := audited[-1]).role == "credit_feed" and feed_subject.person_id == got[0]["data"]["person_id"]

    # A case never in the feed, another region's feed token, and other roles are refused.
    assert (await client.get(f"/v1/credit-feed/{other_case}/person", headers=feed)).status_code == 404
    elsewhere = auth(app, "credit_feed", region_code="411203")
    assert (await client.get(f"/v1/credit-feed/{case_id}/person", headers=elsewhere)).status_code == 403
    for headers in (auth(app, "hospital", hospital_code="H320681001"), auth(app, "bureau", region_code=QIDONG)):
        assert (await client.get(f"/v1/credit-feed/{case_id}/person", headers=headers)).status_code == 403


def test_a_credit_feed_token_names_its_region() -> None:
    import pytest

    from onestop.common.testing import mint

    with pytest.raises(ValueError, match="credit_feed token needs --region-code"):
        mint("credit_feed")

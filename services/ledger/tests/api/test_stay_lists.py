"""Issue 12 point 12: GET /v1/stays (filters, cursor, scopes) and the access audit of stay reads, over HTTP
against a real identity and rules, real PostgreSQL and nats-server. The session's ledger is shared with other
tests: assertions are about the stays admitted here (each exactly once in a walk)."""

from __future__ import annotations

import uuid
from typing import Any

from ledger_api_helpers import HENAN, QIDONG, agreement_body, fresh_id, hospital, register, stay_body
from test_settlement import H

from onestop.common.pagination import encode_cursor
from onestop.common.testing import bearer

DAYS = ("2026-05-01", "2026-05-02", "2026-05-03")
MAY = {"admitted_from": "2026-05-01", "admitted_to": "2026-05-03"}


async def admit(ledger: Any, identity: Any, day: str) -> dict[str, Any]:
    _app, client = ledger
    number = fresh_id(HENAN)
    await register(identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, H), headers=hospital(H))
    assert r.status_code == 201, r.text
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], H,
                                                      admitted_at=f"{day}T23:30:00+08:00"), headers=hospital(H))
    assert r.status_code == 201, r.text
    return r.json()


async def walk(client: Any, headers: dict[str, str], params: dict[str, Any], limit: int = 1) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await client.get("/v1/stays", params={**params, "limit": limit, **({"cursor": cursor} if cursor else {})},
                             headers=headers)
        assert r.status_code == 200, r.text
        items += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return items


async def test_list_filters_cursor_scopes_and_audit(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    made = [await admit(ledger, ledger_identity, d) for d in DAYS]
    mine = {s["stay_id"] for s in made}
    subject = f"op-{uuid.uuid4().hex[:8]}"
    op = bearer("operator", subject=subject)

    items = await walk(client, op, {"hospital_code": H, **MAY})
    ids = [i["stay_id"] for i in items]
    assert len(ids) == len(set(ids)) and mine <= set(ids)  # each page once, nothing twice
    assert [i["admitted_at"] for i in items] == sorted(i["admitted_at"] for i in items)
    assert all("2026-05-01" <= i["admitted_at"][:10] <= "2026-05-03" for i in items)  # 23:30+08:00 in UTC
    # Asia/Shanghai dates, both inclusive: 05-03 23:30 is on the 3rd, not in from=to=05-02's list
    only = {i["stay_id"] for i in await walk(client, op, {"hospital_code": H, "admitted_from": "2026-05-02",
                                                          "admitted_to": "2026-05-02"}, limit=100)}
    assert made[1]["stay_id"] in only and not {made[0]["stay_id"], made[2]["stay_id"]} & only

    r = await client.post(f"/v1/stays/{made[0]['stay_id']}/cancel", json={"reason": "录入错误"}, headers=hospital(H))
    assert r.status_code == 200, r.text
    cancelled = {i["stay_id"] for i in await walk(client, op, {"hospital_code": H, "state": "cancelled", **MAY}, 100)}
    still_open = {i["stay_id"] for i in await walk(client, op, {"hospital_code": H, "state": "open", **MAY}, 100)}
    assert made[0]["stay_id"] in cancelled and made[0]["stay_id"] not in still_open
    assert {made[1]["stay_id"], made[2]["stay_id"]} <= still_open

    # scopes: another hospital and another region see none; a bureau of the region (and its province) all
    qidong = "H320681001"
    assert not mine & {i["stay_id"] for i in await walk(client, bearer("hospital", hospital_code=qidong), MAY, 100)}
    assert (await client.get("/v1/stays", params={"hospital_code": H},
                             headers=bearer("hospital", hospital_code=qidong))).status_code == 403
    assert mine <= {i["stay_id"] for i in await walk(client, bearer("hospital", hospital_code=H), MAY, 100)}
    assert not mine & {i["stay_id"] for i in await walk(client, bearer("bureau", region_code=QIDONG), MAY, 100)}
    for region in ("410000", "411203"):
        assert mine <= {i["stay_id"] for i in await walk(client, bearer("bureau", region_code=region), MAY, 100)}
    assert (await client.get("/v1/stays", params={"region_code": QIDONG},
                             headers=bearer("bureau", region_code="410000"))).status_code == 403
    assert (await client.get("/v1/stays", headers=bearer("payer", payer="basic",
                                                          region_code="410000"))).status_code == 403

    for params, field in [({"state": "closed"}, "state"), ({"admitted_from": "2026-13-01"}, "admitted_from"),
                          ({"cursor": "bad"}, "cursor"), ({"region_code": "4100"}, "region_code"),
                          ({"admitted_from": "2026-05-03", "admitted_to": "2026-05-01"}, "admitted_to"),
                          ({"limit": 501}, "limit"), ({"hospital_code": "H\x00"}, "hospital_code"),
                          ({"cursor": encode_cursor(("2026-05-01T00:00:00+00:00", "not-a-uuid"))}, "cursor"),
                          ({"cursor": encode_cursor(("yesterday", str(uuid.uuid4())))}, "cursor"),
                          ({"cursor": encode_cursor((1, 2))}, "cursor")]:
        r = await client.get("/v1/stays", params=params, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (params, r.text)

    # the access audit: a stay read names the stay and its person; a list request is one row naming the filter
    r = await client.get(f"/v1/stays/{made[1]['stay_id']}", headers=op)
    assert r.status_code == 200
    r = await client.get(f"/v1/stays/{made[1]['stay_id']}/settlements", headers=op)
    assert r.status_code == 200
    r = await client.get(f"/v1/stays/{made[1]['stay_id']}/payments", headers=op)
    assert r.status_code == 200
    r = await client.get(f"/v1/stays/{made[1]['stay_id']}/daily-statement", params={"date": "2026-05-02"},
                         headers=op)
    assert r.status_code == 200, r.text
    r = await client.get("/v1/access-audit", params={"person_ref": made[1]["person_ref"]}, headers=bearer("operator"))
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    assert [a["endpoint"] for a in rows[:4]] == [
        "GET /v1/stays/{stay_id}/daily-statement", "GET /v1/stays/{stay_id}/payments",
        "GET /v1/stays/{stay_id}/settlements", "GET /v1/stays/{stay_id}"]
    assert all(a["subject"] == subject and a["stay_id"] == made[1]["stay_id"] for a in rows[:4])
    assert rows[0]["detail"] == "date=2026-05-02" and len(rows) == 4  # no other read of this person
    mine_rows = await audit_walk(client, subject)
    lists = [a for a in mine_rows if a["endpoint"] == "GET /v1/stays"]
    assert "admitted_from=2026-05-02&admitted_to=2026-05-02&hospital_code=H411203001" in {
        "&".join(sorted(a["detail"].split("&"))) for a in lists}
    assert all(a["person_ref"] is None for a in lists)  # a list is one row per request, not per stay
    assert (await client.get("/v1/access-audit", headers=bearer("hospital", hospital_code=H))).status_code == 403


async def audit_walk(client: Any, subject: str) -> list[dict[str, Any]]:
    """The subject's audit rows over every page (2 a page): newest first, none twice."""
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = await client.get("/v1/access-audit", params={"subject": subject, "limit": 2,
                                                         **({"cursor": cursor} if cursor else {})},
                             headers=bearer("operator"))
        assert r.status_code == 200, r.text
        rows += r.json()["items"]
        cursor = r.json()["next_cursor"]
        if cursor is None:
            assert [a["at"] for a in rows] == sorted((a["at"] for a in rows), reverse=True)
            return rows

"""Shared by clearing's e2e tests: a stay settled over the ledger's real HTTP API."""

from __future__ import annotations

from typing import Any

from ledger_api_helpers import HENAN, SHANZHOU_HOSPITAL, agreement_body, fresh_id, hospital, register, stay_body

H = SHANZHOU_HOSPITAL


async def settled(client: Any, identity: Any) -> dict[str, Any]:
    number = fresh_id(HENAN)
    await register(identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, H), headers=hospital(H))
    assert r.status_code == 201, r.text
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], H), headers=hospital(H))
    sid = r.json()["stay_id"]
    lines = [{"line_id": "L1", "code": "250101001", "name": "血常规", "class": "A", "amount": "12000.00",
              "occurred_at": "2026-03-11T10:00:00+08:00"}]
    r = await client.post(f"/v1/stays/{sid}/fee-lines", json={"lines": lines}, headers=hospital(H))
    assert r.status_code == 201, r.text
    r = await client.post(f"/v1/stays/{sid}/settlement", json={"discharged_at": "2026-03-20T10:00:00+08:00"},
                          headers=hospital(H))
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]

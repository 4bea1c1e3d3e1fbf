"""Policies: validate and publish (idempotent, authorised by part, event policy.published on NATS)."""

from __future__ import annotations

import asyncio
import json

import nats
from rules_api_helpers import bearer, idem, latest_version, pinned_body, shipped_text, with_version

REGION = "320681"


def publish_body(version: int, text: str | None = None) -> dict[str, str]:
    return {"filename": f"{REGION}/policy.v{version}.yaml", "yaml": text or with_version(shipped_text(REGION), version)}


async def test_validate_names_file_path_and_reason(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    bad = with_version(shipped_text(REGION), 7).replace('ratio: "0.', 'ratio: "1.', 1)
    r = await client.post("/v1/policies:validate", json=publish_body(7, bad), headers=bearer(app))
    assert r.status_code == 200, r.text
    v = r.json()
    assert v["valid"] is False
    e = v["errors"][0]
    assert e["file"] == f"{REGION}/policy.v7.yaml" and e["path"].startswith("payers") and e["reason"]
    ok = await client.post("/v1/policies:validate", json=publish_body(7), headers=bearer(app))
    assert ok.json() == {"valid": True, "errors": []}


async def test_publish_puts_the_version_in_force_and_tells_nats(rules, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    version = await latest_version(client, app, REGION) + 1
    nc = await nats.connect(nats_url)
    seen: asyncio.Queue = asyncio.Queue()

    async def got(msg) -> None:  # type: ignore[no-untyped-def]
        await seen.put(json.loads(msg.data))

    await nc.subscribe("onestop.rules.policy.published.>", cb=got)
    try:
        r = await client.post("/v1/policies", json=publish_body(version), headers={**bearer(app), **idem()})
        assert r.status_code == 201, r.text
        assert r.json()["version"] == version
        event = await asyncio.wait_for(seen.get(), 10)
        assert event["type"].startswith("rules.policy.published")
        assert event["data"]["policy_id"] == REGION and event["data"]["version"] == version
        assert event["data"]["treat_first"]["region_code"] == REGION
    finally:
        await nc.close()
    q = (await client.post("/v1/quotes", json=pinned_body(REGION, person={"categories": [], "insurance": "employee"}),
                           headers=bearer(app))).json()
    assert q["policy"] == {"id": REGION, "version": version, "parents": []}


async def test_idempotency_key(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    auth = bearer(app)
    version = await latest_version(client, app, REGION) + 1
    r = await client.post("/v1/policies", json=publish_body(version), headers=auth)
    assert r.status_code == 428
    key = idem()
    first = await client.post("/v1/policies", json=publish_body(version), headers={**auth, **key})
    assert first.status_code == 201, first.text
    again = await client.post("/v1/policies", json=publish_body(version), headers={**auth, **key})
    assert again.status_code == 201 and again.json() == first.json()
    other = await client.post("/v1/policies", json=publish_body(version + 1), headers={**auth, **key})
    assert other.status_code == 422
    assert await latest_version(client, app, REGION) == version


async def test_invalid_file_publishes_nothing(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    version = await latest_version(client, app, REGION) + 1
    bad = with_version(shipped_text(REGION), version).replace("kind: deductible_ratio_cap", "kind: lottery", 1)
    r = await client.post("/v1/policies", json=publish_body(version, bad), headers={**bearer(app), **idem()})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    e = r.json()["errors"][0]
    assert e["file"] == f"{REGION}/policy.v{version}.yaml" and e["path"] and e["reason"]
    assert await latest_version(client, app, REGION) == version - 1


async def test_version_not_above_current_is_409(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    current = await latest_version(client, app, REGION)
    r = await client.post("/v1/policies", json=publish_body(current), headers={**bearer(app), **idem()})
    assert r.status_code == 409, r.text


async def test_payer_may_publish_only_its_own_part(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    version = await latest_version(client, app, REGION) + 1
    text = with_version(shipped_text(REGION), version)
    # shipped 启东 file: the first payer block is basic; change a value inside it only
    head, sep, tail = text.partition("  - id: basic")
    block, nxt, rest = tail.partition("\n  - id: ")
    own = head + sep + block.replace('ratio: "0.92"', 'ratio: "0.93"', 1) + nxt + rest
    assert own != text
    payer = bearer(app, "payer", payer="basic", region_code=REGION)
    other = bearer(app, "payer", payer="assistance", region_code=REGION)
    r = await client.post("/v1/policies", json=publish_body(version, own), headers={**other, **idem()})
    assert r.status_code == 403, r.text
    r = await client.post("/v1/policies", json=publish_body(version, own), headers={**bearer(
        app, "hospital", hospital_code="H320681001"), **idem()})
    assert r.status_code == 403, r.text
    r = await client.post("/v1/policies", json=publish_body(version, own), headers={**payer, **idem()})
    assert r.status_code == 201, r.text
    assert r.json()["parts"] == ["payers.basic"]
    # the same payer may not touch another part (here: the treat-first rule)
    more = with_version(own, version + 1).replace("blacklist_blocks_direct_settlement: true",
                                                  "blacklist_blocks_direct_settlement: false", 1)
    r = await client.post("/v1/policies", json=publish_body(version + 1, more), headers={**payer, **idem()})
    assert r.status_code == 403, r.text

"""POST /v1/quotes over HTTP and over NATS request/reply (DESIGN §9.1)."""

from __future__ import annotations

import json
from decimal import Decimal

import nats
import pytest
from nats.js.errors import NotFoundError
from rules_api_helpers import bearer, pinned_body

REGIONS = ["150222", "140224", "653200", "410000", "411203", "320681"]


@pytest.mark.parametrize("region", REGIONS)
async def test_quote_pinned_body_for_each_shipped_region(rules, region: str) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    r = await client.post("/v1/quotes", json=pinned_body(region), headers=bearer(app, "hospital", hospital_code="H1"))
    assert r.status_code == 200, r.text
    q = r.json()
    total = Decimal(q["total"])
    paid = sum(Decimal(p["amount"]) for p in q["payers"])
    assert paid + Decimal(q["self_pay"]) == total  # conservation, to the fen
    assert q["policy"]["id"] == region and q["policy"]["version"] == 1
    assert q["payers"], "a registered-poor inpatient has at least the basic fund"
    for p in q["payers"]:
        assert p["trace"]["text_zh"] and p["trace"]["lines"]
        assert Decimal(p["amount"]) >= 0
    assert q["trace"] and q["trace"][-1]["code"] == "self_pay"
    if region == "411203":
        assert [p["id"] for p in q["policy"]["parents"]] == ["410000"]


async def test_payers_in_waterfall_order(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    q = (await client.post("/v1/quotes", json=pinned_body("150222"), headers=bearer(app))).json()
    # 固阳 (003 二(三)2): basic → critical illness → commercial → assistance → the 95% gap fill, in the policy's order
    assert [p["payer"] for p in q["payers"]] == ["basic", "critical_illness", "commercial", "assistance", "gap_fill"]
    assert Decimal(q["self_pay"]) == (Decimal(q["total"]) * Decimal("0.05")).quantize(Decimal("0.01"))


async def test_nhsa_shape(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    r = await client.post("/v1/quotes?shape=nhsa", json=pinned_body("150222"), headers=bearer(app))
    assert r.status_code == 200, r.text
    n = r.json()
    assert Decimal(n["fund_pay_sumamt"]) + Decimal(n["psn_part_amt"]) + Decimal(n["hosp_part_amt"]) == Decimal(
        n["medfee_sumamt"])
    assert {d["fund_pay_type"] for d in n["setldetail"]} >= {"390100", "390200", "610100", "640100"}


def _fields(r) -> list[str]:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    return [e["field"] for e in r.json()["errors"]]


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda b: b["lines"][0].update(amount="-1.00"), "lines.0.amount"),
    (lambda b: b["lines"][1].update(amount="10.001"), "lines.1.amount"),
    (lambda b: b["lines"][0].update({"class": "D"}), "lines.0.class"),
    (lambda b: b["stay"].update(hospital_level="clinic"), "stay.hospital_level"),
    (lambda b: b["person"].update(categories=["wealthy"]), "person.categories.0"),
    (lambda b: b["stay"].update(admitted_at="2026-03-01", part={"index": 2, "final": True}), "stay.part.starts_on"),
    (lambda b: b["stay"].update(part={"index": 2, "final": True, "starts_on": "2026-03-01"}), "stay.part"),
    (lambda b: b["stay"].update(admitted_at="2026-03-10", discharged_at="2026-03-01"), "stay.discharged_at"),
])
async def test_bad_input_names_the_field(rules, mutate, field: str) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    body = pinned_body()
    mutate(body)
    r = await client.post("/v1/quotes", json=body, headers=bearer(app))
    assert field in _fields(r)


async def test_no_policy_in_force_names_region_and_date(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    for region, on in (("999999", "2026-03-10"), ("150222", "2001-01-01")):
        r = await client.post("/v1/quotes", json=pinned_body(region, date=on), headers=bearer(app))
        assert set(_fields(r)) == {"region_code", "date"}
        body = r.json()
        assert region in body["detail"] and on in body["detail"]
        assert body["type"].endswith("/no-policy-in-force")


async def test_anonymous_is_401(rules) -> None:  # type: ignore[no-untyped-def]
    _app, client = rules
    r = await client.post("/v1/quotes", json=pinned_body())
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


async def test_nats_quote_answers_as_http(rules, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    body = pinned_body("653200")
    http = (await client.post("/v1/quotes", json=body, headers=bearer(app))).json()
    nc = await nats.connect(nats_url)
    try:
        msg = await nc.request("onestop.rpc.rules.quote", json.dumps(body).encode(), timeout=5)
        answer = json.loads(msg.data)
        assert answer == {"ok": True, "result": http}
        bad = dict(body, lines=[dict(body["lines"][0], amount="1.234")])
        msg = await nc.request("onestop.rpc.rules.quote", json.dumps(bad).encode(), timeout=5)
        answer = json.loads(msg.data)
        assert answer["ok"] is False
        assert answer["problem"]["status"] == 422
        assert "lines.0.amount" in [e["field"] for e in answer["problem"]["errors"]]
        msg = await nc.request("onestop.rpc.rules.quote", json.dumps(pinned_body("999999")).encode(), timeout=5)
        assert json.loads(msg.data)["problem"]["type"].endswith("/no-policy-in-force")
    finally:
        await nc.close()


async def test_no_stream_captures_rpc_subjects(rules, nats_url: str) -> None:  # type: ignore[no-untyped-def]
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for subject in ("onestop.rpc.rules.quote", "onestop.rpc.identity.eligibility"):
            with pytest.raises(NotFoundError):
                await js.find_stream_name_by_subject(subject)
        for info in await js.streams_info():
            for s in info.config.subjects or []:
                assert not (s.startswith("onestop.rpc") or s in (">", "onestop.>")), (info.config.name, s)
    finally:
        await nc.close()


async def test_a_part_of_a_stay_over_http_and_its_fields_in_the_openapi(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    schemas = (await client.get("/openapi.json")).json()["components"]["schemas"]
    part = schemas["StayPart"]["properties"]
    assert all(part[f].get("description") for f in ("index", "final", "starts_on", "deductible_borne"))
    body = pinned_body("410000")
    body["lines"] = [{"line_id": "L1", "code": "250101001", "name": "血常规", "class": "A", "amount": "10000.00"}]
    body["stay"].update(admitted_at="2025-12-20", part={"index": 2, "final": True, "starts_on": "2026-01-01",
                                                         "deductible_borne": {"basic": "200.00"}})
    r = await client.post("/v1/quotes", json=body, headers=bearer(app))
    assert r.status_code == 200, r.text
    basic = next(p for p in r.json()["payers"] if p["payer"] == "basic")
    # county: (10000 − (300 − 200)) × 80% = 7920, and the stay is not counted again
    assert basic["amount"] == "7920.00" and basic["trace"]["deductible_borne"] == "100.00"
    assert r.json()["delta"]["stays"] == {}

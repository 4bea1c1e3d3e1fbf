"""POST /v1/simulations: replay stays under a shipped version and a candidate file."""

from __future__ import annotations

from decimal import Decimal

from rules_api_helpers import bearer, pinned_body, shipped_text, with_version


def candidate(region: str = "150222") -> str:
    """固阳 with the basic fund's county inpatient deductible raised from 300.00 to 3000.00 yuan."""
    text = with_version(shipped_text(region), 2)
    raised = text.replace('county: {deductible: "300.00"', 'county: {deductible: "3000.00"', 1)
    assert raised != text
    return raised


async def test_raising_a_deductible_raises_self_pay(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    # not poor: no gap fill to absorb the change
    stays = [pinned_body(person={"categories": [], "insurance": "resident"}) for _ in range(3)]
    stays.append(pinned_body(stay={"kind": "inpatient", "hospital_level": "city", "disease_code": None}))
    body = {"a": {"policy_id": "150222", "version": 1},
            "b": {"filename": "150222/policy.v2.yaml", "yaml": candidate()}, "requests": stays, "top": 5}
    r = await client.post("/v1/simulations", json=body, headers=bearer(app))
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["stays"] == 4
    assert Decimal(s["self_pay_b"]) > Decimal(s["self_pay_a"])
    basic = next(p for p in s["payers"] if p["payer"] == "basic")
    assert Decimal(basic["b"]) < Decimal(basic["a"])
    changed = s["most_changed"]
    assert {c["index"] for c in changed} == {0, 1, 2}  # the city stay is untouched
    assert all(Decimal(c["self_pay_b"]) - Decimal(c["self_pay_a"]) == Decimal("2025.00") for c in changed)  # 2700 × 75%
    assert len(s["ratio_a"]["deciles"]) == 9


async def test_invalid_candidate_is_422(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    bad = candidate().replace('ratio: "0.75"', 'ratio: "7.5"', 1)
    body = {"a": {"policy_id": "150222", "version": 1}, "b": {"filename": "c.yaml", "yaml": bad},
            "requests": [pinned_body()]}
    r = await client.post("/v1/simulations", json=body, headers=bearer(app))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["file"] == "c.yaml"

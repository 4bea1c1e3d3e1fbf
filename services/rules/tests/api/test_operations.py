"""GET /v1/operations (issue 11 point 9): the operational policy data, for every authenticated role."""

from __future__ import annotations

from rules_api_helpers import bearer

from onestop.common.testing import session_keys
from onestop.common.tokens import ServiceTokenMinter


def ledger_service_token() -> dict[str, str]:
    """The ledger's own `service` token for rules (the ledger reads operations in later issues)."""
    token = ServiceTokenMinter("ledger", session_keys().service_keys["ledger"]).token_for("rules")
    return {"Authorization": f"Bearer {token}"}


async def test_guyang_operations_with_the_seed_values(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    r = await client.get("/v1/operations", params={"region_code": "150222", "date": "2018-05-01"},
                         headers=ledger_service_token())
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["policy"]["id"] == "150222" and body["date"] == "2018-05-01"
    ops = body["operations"]
    # 003 二(三)2: 医疗扶贫救助基金, 市县1:1, 1045万元 for 2017–2020; the effective-ratio target 95%
    assert ops["funds"] == [{"payer": "gap_fill", "name_zh": "医疗扶贫救助基金", "amount": "10450000.00",
                             "period": {"start": "2017-01-01", "end": "2020-12-31"},
                             "shares": {"city": 1, "county": 1}}]
    assert ops["indicators"] == {"effective_ratio_target": "0.95"}
    assert ops["documents"] == {"returned_on": "payment"}
    assert ops["cost_alerts"] == {"thresholds": ["10000.00", "30000.00", "50000.00"]}
    assert ops["repayment"] == {"grace_days": 30, "reminder_lead_days": [7, 3, 1]}
    assert ops["claims"] == {"apply_by_day": 10, "review_days": 30}
    # the values no seed states say so; the seed's (1045万元, 95%, 1:1) are not listed
    ill = {i["path"]: i["value"] for i in body["illustrative"]}
    assert ill["operations.repayment.grace_days"] == "30"
    assert ill["operations.cost_alerts.thresholds[0]"] == "10000.00"
    assert ill["operations.claims.apply_by_day"] == "10"
    assert not any(p.startswith(("operations.funds", "operations.indicators")) for p in ill)


async def test_operations_inherited_and_for_any_role(rules) -> None:  # type: ignore[no-untyped-def]
    app, client = rules
    parent = (await client.get("/v1/operations", params={"region_code": "410000", "date": "2024-01-01"},
                               headers=bearer(app, "bureau", region_code="410000"))).json()
    child = await client.get("/v1/operations", params={"region_code": "411203", "date": "2024-01-01"},
                             headers=bearer(app, "hospital", hospital_code="H411203001"))
    assert child.status_code == 200, child.text
    assert child.json()["operations"] == parent["operations"]  # 陕州 states none of its own: 河南's
    assert [p["id"] for p in child.json()["policy"]["parents"]] == ["410000"]
    # 启东: the cost alert rule is the seed's (004 二(三) 预计超过限额提醒), its amounts illustrative
    qd = (await client.get("/v1/operations", params={"region_code": "320681", "date": "2020-08-01"},
                           headers=bearer(app, "payer", payer="basic", region_code="320681"))).json()
    assert qd["operations"]["cost_alerts"] == {"thresholds": ["10000.00", "50000.00", "100000.00"]}
    assert {i["path"] for i in qd["illustrative"]} >= {"operations.cost_alerts.thresholds[0]"}
    r = await client.get("/v1/operations", params={"region_code": "150222"})
    assert r.status_code == 401
    r = await client.get("/v1/operations", params={"region_code": "15022"}, headers=bearer(app))
    assert r.status_code == 422
    r = await client.get("/v1/operations", params={"region_code": "150222", "date": "2016-01-01"},
                         headers=bearer(app))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")

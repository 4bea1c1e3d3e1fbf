"""Claims over HTTP on the posted books (issue 14 points 4-6): submission and totals, the funds' decisions item by
item, withdrawal, disbursements against the `approved` account's database limit, a reversal after payment netted
as a negative line of a supplementary claim, prepayment netting, and the invariants after each step."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from clearing_helpers import HOSPITAL, REGION, clearing, count_transfers, finalized, ledger_stream, reversal_of, rows

from onestop.common.testing import bearer, eventually

HOSPITAL_TOKEN = {"hospital_code": HOSPITAL}
BASIC = {"payer": "basic", "region_code": REGION}


@pytest.fixture
def own_nats(nats_factory):  # type: ignore[no-untyped-def]
    return nats_factory().url


class Api:
    def __init__(self, client: Any) -> None:
        self.client = client

    async def post(self, path: str, body: dict[str, Any], role: str, **token: str) -> Any:
        headers = {**bearer(role, **token), "Idempotency-Key": str(uuid.uuid4())}
        return await self.client.post(path, json=body, headers=headers)

    async def claim(self, setlym: str = "202603", role: str = "hospital", **extra: str) -> Any:
        token = HOSPITAL_TOKEN if role == "hospital" else {}
        return await self.post("/v1/claims", {"hospital_code": HOSPITAL, **BASIC, "setlym": setlym, **extra},
                               role, **token)

    async def decide(self, claim_id: str, items: list[dict[str, Any]], **token: str) -> Any:
        return await self.post(f"/v1/claims/{claim_id}/decisions", {"items": items}, "payer", **(token or BASIC))

    async def pay(self, claim_id: str, amount: str, **token: str) -> Any:
        return await self.post(f"/v1/claims/{claim_id}/disbursements",
                               {"reference": str(uuid.uuid4())[:12], "amount": amount, "date": "2026-04-20"},
                               "payer", **(token or BASIC))

    async def invariants_ok(self) -> bool:
        r = await self.client.get("/v1/invariants", headers=bearer("operator"))
        return bool(r.status_code == 200 and r.json()["ok"])


async def _posted(app: Any, n: int) -> None:
    async def done() -> bool:
        return await count_transfers(app) >= n

    await eventually(done)


async def test_claim_lifecycle_totals_decisions_and_disbursements(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 600_00, "critical_illness": 100_00})
    b = finalized({"basic": 50_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        for e in (a, b):
            await ledger.publish(e)
        await _posted(app, 3)
        api = Api(client)

        early = await api.claim("202612")  # December 2026 has not ended (today is in it, Asia/Shanghai)
        assert early.status_code == 409 and early.json()["errors"][0]["field"] == "setlym", early.text
        other = await api.post("/v1/claims", {"hospital_code": "H410000001", **BASIC, "setlym": "202603"},
                               "hospital", **HOSPITAL_TOKEN)
        assert other.status_code == 403
        r = await api.claim(period="2026-03")
        assert r.status_code == 422 and r.json()["errors"][0]["field"], r.text  # the month given twice
        r = await api.claim()
        assert r.status_code == 201, r.text
        claim = r.json()
        cid = claim["claim_id"]
        # the hospital's finance view lists it with its status
        view = (await client.get("/v1/finance", params={"hospital_code": HOSPITAL},
                                 headers=bearer("hospital", **HOSPITAL_TOKEN))).json()
        assert [(c["claim_id"], c["status"], c["fund_amount"]) for c in view["claims"]] == [(cid, "submitted",
                                                                                              "650.00")]
        assert [c["claim_id"] for c in view["awaiting_past_deadline"]] == []  # submitted today: not waiting yet
        assert (claim["count"], claim["fund_amount"], claim["total_cost"], claim["supplementary"]) == (
            2, "650.00", "770.00", False)  # a's total 710.00 (both funds + self pay) and b's 60.00
        assert {i["settlement_id"]: i["amount"] for i in claim["items"]} == {a.settlement_id: "600.00",
                                                                             b.settlement_id: "50.00"}
        again = await api.claim()
        assert again.status_code == 409 and again.json()["claim_id"] == cid
        assert await api.invariants_ok()
        reserved = await rows(app, "SELECT code, debits_pending, credits_pending FROM account WHERE payer = 'basic'")
        assert {r.code: (r.debits_pending, r.credits_pending) for r in reserved if r.code in ("claimed", "advance")} \
            == {"claimed": (650_00, 0), "advance": (0, 650_00)}
        nhsa = (await client.get(f"/v1/claims/{cid}", params={"shape": "nhsa"}, headers=bearer("operator"))).json()
        assert (nhsa["setlym"], nhsa["psntime"], nhsa["medfee_sumamt"], nhsa["fund_appy_sum"]) == (
            "202603", 2, "770.00", "650.00")
        as_csv = await client.get(f"/v1/claims/{cid}", params={"format": "csv"}, headers=bearer("operator"))
        assert as_csv.headers["content-type"].startswith("text/csv") and a.settlement_id in as_csv.text

        approve_a = [{"settlement_id": a.settlement_id, "decision": "approve"}]
        for token in ({"payer": "critical_illness", "region_code": REGION},
                      {"payer": "basic", "region_code": "410000"}):
            denied = await api.decide(cid, approve_a, **token)
            assert denied.status_code == 403, denied.text
        assert (await rows(app, "SELECT decision FROM claim_item WHERE settlement_id = :s", s=a.settlement_id))[0] \
            .decision is None  # a denied decision changes nothing
        first = await api.decide(cid, approve_a)
        assert first.status_code == 201 and first.json()["status"] == "submitted", first.text
        assert (await api.decide(cid, approve_a)).status_code == 409  # decided again
        no_reason = await api.decide(cid, [{"settlement_id": b.settlement_id, "decision": "deduct",
                                            "approved_amount": "30.00"}])
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "items[0].reason"
        done = await api.decide(cid, [{"settlement_id": b.settlement_id, "decision": "deduct",
                                       "approved_amount": "30.00", "reason": "超标准收费"}])
        body = done.json()
        assert (body["status"], body["approved"], body["rejected"], body["payable"]) == (
            "decided", "630.00", "20.00", "630.00"), body
        assert (await api.post(f"/v1/claims/{cid}/withdrawal", {}, "hospital", **HOSPITAL_TOKEN)).status_code == 409
        assert await api.invariants_ok()

        above = await api.pay(cid, "630.01")
        assert above.status_code == 409 and above.json()["errors"][0]["field"] == "amount", above.text
        paid = await api.pay(cid, "630.00")
        assert paid.status_code == 201 and paid.json()["claim"]["payable"] == "0.00", paid.text
        assert (await api.pay(cid, "0.01")).status_code == 409
        assert await api.invariants_ok()
        owed = (await client.get("/v1/advances", params={"payer": "basic"}, headers=bearer("operator"))).json()
        assert owed[0]["outstanding"] == "0.00"  # 650 advanced: 630 paid, 20 rejected
        events = await rows(app, "SELECT type FROM outbox ORDER BY created_at")
        assert [e.type for e in events if e.type.startswith("clearing.")] == [
            "clearing.claim.submitted.v1", "clearing.claim.decided.v1", "clearing.disbursement.made.v1"]


async def test_withdrawal_supplementary_claim_reversal_after_payment_and_prepayment(  # type: ignore[no-untyped-def]
        settings_for, make_database, own_nats) -> None:
    a = finalized({"basic": 100_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        await ledger.publish(a)
        await _posted(app, 1)
        api = Api(client)
        first = (await api.claim()).json()
        withdrawn = await api.post(f"/v1/claims/{first['claim_id']}/withdrawal", {}, "hospital", **HOSPITAL_TOKEN)
        assert withdrawn.status_code == 201 and withdrawn.json()["status"] == "withdrawn", withdrawn.text
        assert await api.invariants_ok()
        r = await api.claim(role="operator")  # the period is free again, and the leg too
        assert r.status_code == 201 and r.json()["fund_amount"] == "100.00", r.text
        cid = r.json()["claim_id"]
        assert (await api.decide(cid, [{"settlement_id": a.settlement_id, "decision": "approve"}])).status_code == 201
        assert (await api.pay(cid, "100.00")).status_code == 201

        c = finalized({"basic": 300_00})  # settled in March too, after March's claim was decided
        await ledger.publish(reversal_of(a))  # a reversal after payment: the hospital owes 100.00 back
        await ledger.publish(c)

        async def both_posted() -> bool:
            got = await rows(app, "SELECT count(*) AS n FROM transfer WHERE settlement_id = :c OR code = 'reversal'",
                             c=c.settlement_id)
            return bool(got[0].n == 2)

        await eventually(both_posted)
        owed = await rows(app, "SELECT credits_posted FROM account WHERE payer = 'basic' AND code = 'owed_back'")
        assert owed[0].credits_posted == 100_00  # the leg was claimed: its reversal is owed back, not un-advanced
        pre = await api.post("/v1/prepayments", {"hospital_code": HOSPITAL, **BASIC, "amount": "50.00",
                                                 "reference": "PRE-1", "date": "2026-04-01"}, "payer", **BASIC)
        assert pre.status_code == 201 and pre.json()["unnetted"] == "50.00", pre.text
        assert (await api.post("/v1/prepayments", {"hospital_code": HOSPITAL, **BASIC, "amount": "50.00",
                                                   "reference": "PRE-2", "date": "2026-04-01"}, "payer",
                               payer="charity", region_code=REGION)).status_code == 403

        sup = await api.claim()
        body = sup.json()
        assert sup.status_code == 201 and body["supplementary"] is True, sup.text
        lines = {(i["kind"], i["amount"]) for i in body["items"]}
        assert lines == {("leg", "300.00"), ("owed_back", "-100.00")} and body["fund_amount"] == "200.00"
        decided = (await api.decide(body["claim_id"], [{"settlement_id": c.settlement_id, "decision": "approve"}]))
        d = decided.json()
        assert (d["status"], d["approved"], d["owed_back_netted"], d["prepayment_netted"], d["payable"]) == (
            "decided", "300.00", "100.00", "50.00", "150.00"), d
        assert (await api.pay(body["claim_id"], "150.01")).status_code == 409
        assert (await api.pay(body["claim_id"], "150.00")).status_code == 201
        assert await api.invariants_ok()
        books = await rows(app, "SELECT code, debits_posted - credits_posted AS net FROM account WHERE payer = 'basic'")
        assert {r.code: r.net for r in books if r.net} == {}  # every account of the fund is settled to zero


async def test_automatic_claims_on_the_calendar_and_the_joint_review(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 600_00, "critical_illness": 100_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        await ledger.publish(a)
        await _posted(app, 2)
        api = Api(client)
        early = await api.post("/v1/claim-runs", {"as_of": "2026-04-09"}, "operator")
        assert early.status_code == 201 and early.json() == {"setlym": "202603", "due": False, "created": [],
                                                             "skipped": []}
        assert (await api.post("/v1/claim-runs", {"as_of": "2026-04-10"}, "hospital", **HOSPITAL_TOKEN)) \
            .status_code == 403
        due = await api.post("/v1/claim-runs", {"as_of": "2026-04-10"}, "operator")
        assert due.status_code == 201 and len(due.json()["created"]) == 2, due.text
        again = await api.post("/v1/claim-runs", {"as_of": "2026-04-11"}, "operator")
        assert again.json()["created"] == []  # every leg of March is in a claim

        async def review(**token: str) -> Any:
            return await client.get("/v1/joint-reviews", params={"hospital_code": HOSPITAL, "setlym": "202603"},
                                    headers=bearer("hospital", **(token or HOSPITAL_TOKEN)))

        side_by_side = (await review()).json()
        assert [(c["payer"], c["fund_amount"], c["status"]) for c in side_by_side["claims"]] == [
            ("basic", "600.00", "submitted"), ("critical_illness", "100.00", "submitted")]
        assert side_by_side["closed"] is False
        assert (await review(hospital_code="H410000001")).status_code == 403
        by_payer = {c["payer"]: c["claim_id"] for c in side_by_side["claims"]}
        approve = [{"settlement_id": a.settlement_id, "decision": "approve"}]
        assert (await api.decide(by_payer["basic"], approve)).status_code == 201
        assert (await review()).json()["closed"] is False  # critical illness has not decided its own yet
        r = await api.decide(by_payer["critical_illness"],
                             [{"settlement_id": a.settlement_id, "decision": "reject", "reason": "不符合大病保险"}],
                             payer="critical_illness", region_code=REGION)
        assert r.status_code == 201 and r.json()["rejected"] == "100.00", r.text
        assert (await review()).json()["closed"] is True
        assert await api.invariants_ok()

        critical = {"payer": "critical_illness", "region_code": REGION}
        appeal = {"settlement_id": a.settlement_id, "note": "补充病历已上传"}
        cid = by_payer["critical_illness"]
        assert (await api.post(f"/v1/claims/{by_payer['basic']}/appeals", appeal, "hospital", **HOSPITAL_TOKEN)) \
            .status_code == 409  # approved: nothing to appeal
        appealed = await api.post(f"/v1/claims/{cid}/appeals", appeal, "hospital", **HOSPITAL_TOKEN)
        assert appealed.status_code == 201, appealed.text
        assert (appealed.json()["status"], appealed.json()["rejected"]) == ("submitted", "0.00")
        assert (await review()).json()["closed"] is False
        assert await api.invariants_ok()
        again = await api.decide(cid, [{"settlement_id": a.settlement_id, "decision": "deduct",
                                        "approved_amount": "60.00", "reason": "部分不符"}], **critical)
        d = again.json()
        assert (d["status"], d["approved"], d["rejected"], d["items"][0]["approved_amount"]) == (
            "decided", "60.00", "40.00", "60.00"), d
        assert (await api.post(f"/v1/claims/{cid}/appeals", appeal, "hospital", **HOSPITAL_TOKEN)).status_code == 409
        assert (await review()).json()["closed"] is True
        assert await api.invariants_ok()
        owed = (await client.get("/v1/advances", headers=bearer("operator"))).json()
        assert {o["payer"]: o["outstanding"] for o in owed} == {"basic": "600.00", "critical_illness": "60.00"}

"""Issue 13 point 3 end to end: the repayment check (as the operator's endpoint and as the scheduler with a fake
clock) drives a plan from due to reminded to overdue; the overdue event reaches identity, which opens a suspected
case; the county bureau assigns and records the home visit, and identity's case follows it; an operator writes
the debt off. Real ledger, identity and rules apps on PostgreSQL and nats-server."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger_api_helpers import HENAN, SHANZHOU_HOSPITAL, outbox
from sqlalchemy import text
from test_payments import cashier
from test_repayment_plans import plan, settled_owing, sign
from test_settlement import settle

from onestop.common.clock import today
from onestop.common.testing import bearer, eventually
from onestop.contracts.money import format_fen
from onestop.ledger.receivables.checks import Scheduler

H = SHANZHOU_HOSPITAL
BUREAU = bearer("bureau", region_code=HENAN)


async def check(client: Any, as_of: Any) -> Any:
    r = await client.post("/v1/repayment-checks", json={"as_of": as_of.isoformat()}, headers=bearer("operator"))
    assert r.status_code == 200, r.text
    return r.json()


def of_type(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e["envelope"]["data"] for e in events if e["type"] == kind]


async def case_state(identity_app: Any, plan_id: str) -> tuple[str | None, list[str]]:
    async with identity_app.state.runtime.db.transaction() as s:
        row = (await s.execute(text("SELECT case_id, state FROM credit_case WHERE plan_id = :p"),
                               {"p": plan_id})).first()
        if row is None:
            return None, []
        history = (await s.execute(text("SELECT reason FROM credit_case_event WHERE case_id = :c ORDER BY id"),
                                   {"c": row.case_id})).scalars().all()
    return row.state, list(history)


async def test_a_plan_is_reminded_goes_overdue_is_visited_and_identity_follows(ledger, ledger_identity):
    app, client = ledger
    identity_app, _ = ledger_identity
    stay_id, owed = await settled_owing(ledger, ledger_identity)
    d1, d2 = today() + timedelta(days=10), today() + timedelta(days=100)
    p = (await sign(client, stay_id, plan((d1, owed // 2), (d2, owed - owed // 2)))).json()
    plan_id = p["plan_id"]
    # 7 days before the first due date (Henan's illustrative reminder_lead_days 7, 3, 1): one reminder, told once
    summary = await check(client, d1 - timedelta(days=7))
    assert any(r["region_code"] == HENAN and r["reminder_lead_days"] == [7, 3, 1] for r in summary["regions"])
    await check(client, d1 - timedelta(days=7))
    reminders = of_type(await outbox(app, plan_id), "ledger.repayment.reminder_due.v1")
    assert [(x["number"], x["days_before"], x["amount"]) for x in reminders] == [(1, 7, p["instalments"][0]["amount"])]
    # past due but within the 30 grace days: overdue in the plan's view, no notice yet
    await check(client, d1 + timedelta(days=30))
    assert not of_type(await outbox(app, plan_id), "ledger.repayment.overdue.v1")
    got = (await client.get(f"/v1/stays/{stay_id}/repayment-plan",
                            params={"as_of": (d1 + timedelta(days=1)).isoformat()},
                            headers=bearer("hospital", hospital_code=H))).json()
    assert [x["status"] for x in got["instalments"]] == ["overdue", "due"]
    # after the grace period: the overdue event once, a visit task, and identity opens a suspected case
    await check(client, d1 + timedelta(days=31))
    await check(client, d1 + timedelta(days=32))
    overdue = of_type(await outbox(app, plan_id), "ledger.repayment.overdue.v1")
    assert len(overdue) == 1 and overdue[0]["days_overdue"] == 31
    assert overdue[0]["overdue_amount"] == p["instalments"][0]["amount"]

    async def opened() -> bool:
        return (await case_state(identity_app, plan_id))[0] == "suspected"

    await eventually(opened)
    r = await client.get("/v1/visits", params={"region_code": HENAN, "state": "open", "limit": 500}, headers=BUREAU)
    assert r.status_code == 200, r.text
    visit = next(v for v in r.json()["items"] if v["plan_id"] == plan_id)
    assert visit["overdue"] == p["instalments"][0]["amount"] and visit["region_code"] == HENAN
    r = await client.get("/v1/visits", params={"region_code": "320681"}, headers=BUREAU)
    assert r.status_code == 403, r.text
    other = bearer("bureau", region_code="320681")
    r = await client.post(f"/v1/visits/{visit['visit_id']}/assignment", json={"township": "大营镇"},
                          headers={**other, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 404, r.text
    r = await client.post(f"/v1/visits/{visit['visit_id']}/assignment", json={"township": "大营镇"},
                          headers={**BUREAU, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json()["state"] == "assigned", r.text
    outcome = {"outcome": "unable_to_pay", "visited_on": today().isoformat(), "note": "家中无劳动力"}
    r = await client.post(f"/v1/visits/{visit['visit_id']}/outcome", json=outcome,
                          headers={**BUREAU, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200 and r.json()["outcome"] == "unable_to_pay", r.text
    r = await client.post(f"/v1/visits/{visit['visit_id']}/outcome", json=outcome,
                          headers={**BUREAU, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 409, r.text
    recorded = of_type(await outbox(app, plan_id), "ledger.repayment.visit_recorded.v1")
    assert len(recorded) == 1 and "note" not in recorded[0] and "家中无劳动力" not in str(recorded)

    async def dismissed() -> bool:
        return (await case_state(identity_app, plan_id))[0] == "dismissed"

    await eventually(dismissed)
    # the debt written off by an operator: nothing owed, the plan ends, an event
    r = await client.post(f"/v1/stays/{stay_id}/write-off", json={"reason": "入户核实无力支付"},
                          headers=cashier())
    assert r.status_code == 403, r.text
    r = await client.post(f"/v1/stays/{stay_id}/write-off", json={"reason": "入户核实无力支付"},
                          headers={**bearer("operator"), "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 201 and r.json()["amount"] == format_fen(owed), r.text
    balance = (await client.get(f"/v1/stays/{stay_id}/payments",
                                headers=bearer("hospital", hospital_code=H))).json()["balance"]
    assert balance["owed"] == "0.00"
    assert (await client.get(f"/v1/stays/{stay_id}/repayment-plan",
                             headers=bearer("hospital", hospital_code=H))).json()["state"] == "written_off"
    assert of_type(await outbox(app, stay_id), "ledger.receivable.written_off.v1")


async def test_a_suspected_malicious_default_leaves_the_case_for_an_operator(ledger, ledger_identity):
    app, client = ledger
    identity_app, _ = ledger_identity
    stay_id, owed = await settled_owing(ledger, ledger_identity)
    d1 = today() + timedelta(days=5)
    plan_id = (await sign(client, stay_id, plan((d1, owed)))).json()["plan_id"]
    await check(client, d1 + timedelta(days=60))

    async def opened() -> bool:
        return (await case_state(identity_app, plan_id))[0] == "suspected"

    await eventually(opened)
    items = (await client.get("/v1/visits", params={"region_code": "410000", "limit": 500},
                              headers=bearer("bureau", region_code="410000"))).json()["items"]
    visit = next(v for v in items if v["plan_id"] == plan_id)
    r = await client.post(f"/v1/visits/{visit['visit_id']}/outcome",
                          json={"outcome": "suspected_malicious_default", "visited_on": today().isoformat()},
                          headers={**BUREAU, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 200, r.text

    async def noted() -> bool:
        state, history = await case_state(identity_app, plan_id)
        return state == "suspected" and any("疑似恶意逃费" in h for h in history[1:])

    await eventually(noted)
    r = await client.post(f"/v1/visits/{visit['visit_id']}/outcome",
                          json={"outcome": "will_pay", "visited_on": (today() + timedelta(days=1)).isoformat()},
                          headers={**BUREAU, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 409, r.text
    _ = app


async def test_the_scheduler_runs_the_check_once_a_day_from_its_hour(ledger, ledger_identity):
    """The daily job with a fake clock drives a plan from due to reminded to overdue, and identity opens the case."""
    app, client = ledger
    identity_app, _ = ledger_identity
    stay_id, owed = await settled_owing(ledger, ledger_identity)
    d1 = today() + timedelta(days=20)
    plan_id = (await sign(client, stay_id, plan((d1, owed)))).json()["plan_id"]
    clock_at = [datetime.combine(d1 - timedelta(days=3), datetime.min.time(), tzinfo=UTC)]  # 08:00 in Shanghai
    scheduler = Scheduler(app.state.runtime, hour=9, clock=lambda: clock_at[0])
    assert await scheduler.tick() is None  # before its hour
    clock_at[0] += timedelta(hours=2)
    first = await scheduler.tick()
    assert first is not None and first["as_of"] == (d1 - timedelta(days=3)).isoformat()
    clock_at[0] += timedelta(hours=3)
    assert await scheduler.tick() is None  # once a day
    reminders = of_type(await outbox(app, plan_id), "ledger.repayment.reminder_due.v1")
    assert [x["days_before"] for x in reminders] == [3]
    # the clock runs on past the due date and the grace: the next day's run tells the overdue, identity opens a case
    clock_at[0] += timedelta(days=3 + 31)
    assert (await scheduler.tick()) is not None
    assert len(of_type(await outbox(app, plan_id), "ledger.repayment.overdue.v1")) == 1

    async def opened() -> bool:
        return (await case_state(identity_app, plan_id))[0] == "suspected"

    await eventually(opened)
    _ = client


async def test_unable_to_pay_referred_to_charity_reverses_and_resettles_and_the_old_plan_ends(ledger, ledger_identity):
    """After a visit found the patient unable to pay: the settlement is reversed (it is the person's latest) and
    settled again with `confirmed_unable_to_pay` (002 3.3's one-off grant where the region has one); the plan made
    for the reversed share ends `cancelled`, kept as history."""
    _app, client = ledger
    stay_id, owed = await settled_owing(ledger, ledger_identity)
    plan_id = (await sign(client, stay_id, plan((today() + timedelta(days=30), owed)))).json()["plan_id"]
    settlement_id = (await client.get(f"/v1/stays/{stay_id}/settlements",
                                      headers=bearer("hospital", hospital_code=H))).json()["items"][-1]["settlement_id"]
    r = await client.post(f"/v1/settlements/{settlement_id}/reversal", json={"reason": "转慈善救助"}, headers=cashier())
    assert r.status_code == 201, r.text
    r = await settle(client, stay_id, confirmed_unable_to_pay=True)
    assert r.status_code == 201, r.text
    got = (await client.get(f"/v1/stays/{stay_id}/repayment-plan", headers=bearer("hospital", hospital_code=H))).json()
    assert got["plan_id"] == plan_id and got["state"] == "cancelled"
    balance = (await client.get(f"/v1/stays/{stay_id}/payments", headers=bearer("hospital", hospital_code=H))).json()
    assert balance["balance"]["owed"] == r.json()["owed"]

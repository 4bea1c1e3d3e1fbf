"""Issue 12 points 4-6: the estimate (预结算), the daily statement (一日清单), cost alerts (启东 004 二(三)) and the
discharge notice (000 §2.4), over HTTP against a real identity and rules, PostgreSQL and nats-server."""

from __future__ import annotations

import uuid
from typing import Any

from ledger_api_helpers import NAME, SHANZHOU_HOSPITAL, outbox
from sqlalchemy import text
from test_settlement import accumulators, admitted, conserved, line, post, settle

from onestop.common.testing import bearer, eventually
from onestop.contracts.money import parse_yuan

H = SHANZHOU_HOSPITAL
READ = bearer("hospital", hospital_code=H)


async def rows(app: Any, sql: str, **params: Any) -> list[dict[str, Any]]:
    async with app.state.runtime.db.transaction() as s:
        return [dict(r) for r in (await s.execute(text(sql), params)).mappings().all()]


async def test_the_estimate_is_the_settlement_to_come_and_stores_only_an_audit_row(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    assert (await post(client, sid, line("L1", "3000.00"), line("L2", "800.00", "B"), line("L3", "150.00", "C"),
                       line("R1", "-200.00", refunds_line_id="L1"))).status_code == 201
    body = {"discharged_at": "2026-03-20T10:00:00+08:00"}
    r = await client.post(f"/v1/stays/{sid}/estimate", json=body, headers=READ)  # no Idempotency-Key needed
    assert r.status_code == 200, r.text
    est = r.json()
    conserved(est)
    assert est["total"] == "3750.00" and est["through"] == "2026-03-20" and est["part_index"] == 1
    assert est["estimated_by"] and est["estimate_id"]
    [audit] = await rows(app, "SELECT * FROM estimate_audit WHERE stay_id = :s", s=sid)
    assert audit["total_fen"] == 375000 and audit["self_pay_fen"] == parse_yuan(est["self_pay"])
    assert audit["estimated_by"] == est["estimated_by"]
    assert await accumulators(app, stay["person_ref"]) is None  # nothing else changed
    assert (await client.get(f"/v1/stays/{sid}", headers=READ)).json()["state"] == "open"
    assert not await rows(app, "SELECT 1 FROM settlement WHERE stay_id = :s", s=sid)

    r = await settle(client, sid, **body)
    assert r.status_code == 201, r.text
    settled = r.json()
    assert [(f["payer"], f["amount"]) for f in settled["funds"]] == [(f["payer"], f["amount"]) for f in est["funds"]]
    assert settled["self_pay"] == est["self_pay"] and settled["notice"] is None
    r = await client.post(f"/v1/stays/{sid}/estimate", headers=READ)  # no body: as if discharged today
    assert r.status_code == 409, r.text


async def test_the_estimate_refuses_and_rules_down_is_a_503_with_nothing_written(ledger, ledger_identity,  # type: ignore[no-untyped-def]
                                                                                 monkeypatch) -> None:
    import onestop.ledger.quotes as quotes

    app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    r = await client.post(f"/v1/stays/{sid}/estimate", headers=READ)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines", r.text
    assert (await post(client, sid, line("L1", "300.00", day="2026-03-15"))).status_code == 201
    r = await client.post(f"/v1/stays/{sid}/estimate", json={"discharged_at": "2026-03-12"}, headers=READ)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "discharged_at", r.text
    r = await client.post(f"/v1/stays/{sid}/estimate", json={"discharged_at": "2026-03-20"},
                          headers=bearer("hospital", hospital_code="H999"))
    assert r.status_code == 404
    monkeypatch.setattr(quotes, "QUOTE_SUBJECT", "onestop.rpc.rules.nobody_listens")
    r = await client.post(f"/v1/stays/{sid}/estimate", json={"discharged_at": "2026-03-20"}, headers=READ)
    assert r.status_code == 503 and r.headers.get("retry-after"), r.text
    assert not await rows(app, "SELECT 1 FROM estimate_audit WHERE stay_id = :s", s=sid)


async def test_the_daily_statement_shows_the_day_refunds_with_their_line_totals_by_class_and_the_estimate(  # type: ignore[no-untyped-def]
        ledger, ledger_identity) -> None:
    _app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    r = await post(client, sid, line("D1A", "1000.00", day="2026-03-10"), line("D1C", "90.00", "C", day="2026-03-10"),
                   line("D2B", "400.00", "B", day="2026-03-11"),
                   line("R1", "-100.00", day="2026-03-11", refunds_line_id="D1A"),  # refunds a line of the day before
                   line("D2A", "50.00", day="2026-03-11"),
                   line("R2", "-20.00", day="2026-03-11", refunds_line_id="D2A"))
    assert r.status_code == 201, r.text

    day1 = (await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": "2026-03-10"}, headers=READ)).json()
    assert [x["line_id"] for x in day1["lines"]] == ["D1A", "D1C"]
    assert day1["lines"][0]["refunds"] == [] and day1["refunds_of_earlier_lines"] == []
    assert day1["day_total"] == "1090.00"
    assert day1["to_date"] == {"by_class": {"A": "1000.00", "B": "0.00", "C": "90.00"}, "total": "1090.00"}
    assert day1["estimate"]["total"] == "1090.00" and day1["estimate"]["through"] == "2026-03-10"
    conserved(day1["estimate"])

    r = await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": "2026-03-11"}, headers=READ)
    assert r.status_code == 200, r.text
    day2 = r.json()
    assert [x["line_id"] for x in day2["lines"]] == ["D2B", "D2A"]
    d2a = day2["lines"][1]
    assert [x["line_id"] for x in d2a["refunds"]] == ["R2"] and d2a["net"] == "30.00"
    [late] = day2["refunds_of_earlier_lines"]
    assert late["line_id"] == "R1" and late["amount"] == "-100.00" and late["refunds_line"]["line_id"] == "D1A"
    assert late["refunds_line"]["occurred_on"] == "2026-03-10"
    assert day2["day_total"] == "330.00"  # 400 + 50 − 20 − 100
    assert day2["to_date"] == {"by_class": {"A": "930.00", "B": "400.00", "C": "90.00"}, "total": "1420.00"}
    est = day2["estimate"]
    conserved(est)
    assert est["total"] == "1420.00" and est["stay_total"] == "1420.00"
    assert parse_yuan(est["fund_pay"]) + parse_yuan(est["self_pay"]) == 142000
    assert day2["cost_alerts"] == []  # below the region's first threshold
    bureau = await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": "2026-03-11"},
                              headers=bearer("bureau", region_code="411203"))
    assert bureau.status_code == 200, bureau.text

    for bad in ("2026-13-01", "yesterday", "2026-03-09"):
        r = await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": bad}, headers=READ)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "date", (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": "2026-03-11"},
                         headers=bearer("hospital", hospital_code="H999"))
    assert r.status_code == 404


async def test_a_cost_alert_is_raised_once_per_threshold_after_the_batch_commits(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    stay = await admitted(ledger, ledger_identity)  # 陕州 411203 inherits 河南 410000: 10000, 30000, 50000
    sid = stay["stay_id"]

    async def alerts() -> list[dict[str, Any]]:
        return [e for e in await outbox(app, sid) if e["type"] == "ledger.stay.cost_alert.v1"]

    async def checked() -> bool:
        found = await rows(app, "SELECT s.lines_version = c.lines_version AS done FROM stay s JOIN cost_alert_check c "
                                "USING (stay_id) WHERE s.stay_id = :s", s=sid)
        return bool(found and found[0]["done"])

    assert (await post(client, sid, line("L1", "9000.00"))).status_code == 201
    await eventually(checked)
    assert await alerts() == []
    assert (await post(client, sid, line("L2", "1500.00", "B"))).status_code == 201
    await eventually(checked)
    [first] = await alerts()
    assert first["subject"] == "onestop.ledger.stay.cost_alert.410000.411200.411203"
    data = first["envelope"]["data"]
    assert data["threshold"] == "10000.00" and data["estimated_total"] == "10500.00" and data["stay_id"] == sid
    assert NAME not in str(first["envelope"])
    assert (await post(client, sid, line("L3", "100.00"))).status_code == 201  # still past 10000: not again
    assert (await post(client, sid, line("L4", "45000.00", day="2026-03-12"))).status_code == 201  # past 30000, 50000
    await eventually(checked)
    events = await alerts()
    assert sorted(e["envelope"]["data"]["threshold"] for e in events) == ["10000.00", "30000.00", "50000.00"]
    assert (await post(client, sid, line("R4", "-45000.00", day="2026-03-12", refunds_line_id="L4"))).status_code == 201
    assert (await post(client, sid, line("L5", "45000.00", day="2026-03-13"))).status_code == 201  # crossed again
    await eventually(checked)
    assert len(await alerts()) == 3  # once per threshold per stay
    statement = (await client.get(f"/v1/stays/{sid}/daily-statement", params={"date": "2026-03-13"},
                                  headers=READ)).json()
    assert [a["threshold"] for a in statement["cost_alerts"]] == ["10000.00", "30000.00", "50000.00"]
    assert statement["cost_alerts"][0]["estimated_total"] == "10500.00"


async def test_the_discharge_notice_is_stored_as_told_and_the_settlement_shows_the_difference(  # type: ignore[no-untyped-def]
        ledger, ledger_identity) -> None:
    app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    assert (await post(client, sid, line("L1", "2400.00"), line("L2", "600.00", "B"))).status_code == 201
    key = str(uuid.uuid4())
    headers = {**READ, "Idempotency-Key": key}
    body = {"expected_discharge": "2026-03-20", "told_by": "attending_doctor", "told_to": "guardian"}
    r = await client.post(f"/v1/stays/{sid}/discharge-notice", json=body, headers=headers)
    assert r.status_code == 201, r.text
    notice = r.json()
    conserved(notice)
    assert notice["total"] == "3000.00" and notice["told_by"] == "attending_doctor" and notice["told_at"]
    assert notice["expected_discharge"] == "2026-03-20" and notice["told_by_subject"]
    again = await client.post(f"/v1/stays/{sid}/discharge-notice", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == notice
    [stored] = await rows(app, "SELECT * FROM discharge_notice WHERE stay_id = :s", s=sid)
    assert stored["total_fen"] == 300000 and stored["told_by_subject"] == notice["told_by_subject"]
    [event] = [e for e in await outbox(app, sid) if e["type"] == "ledger.discharge_notice.issued.v1"]
    data = event["envelope"]["data"]
    assert data["total"] == "3000.00" and data["self_pay"] == notice["self_pay"] and data["notice_id"]
    assert "told_by" not in data and NAME not in str(event["envelope"])

    for bad, field in [({"expected_discharge": "2026-03-20", "told_by": "张医生"}, "told_by"),
                       ({"expected_discharge": "2026-03-01"}, "expected_discharge"),
                       ({"expected_discharge": "2026-03-20", "told_to": "neighbour"}, "told_to")]:
        r = await client.post(f"/v1/stays/{sid}/discharge-notice", json=bad,
                              headers={**READ, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (bad, r.text)
    assert len(await rows(app, "SELECT 1 FROM discharge_notice WHERE stay_id = :s", s=sid)) == 1

    assert (await post(client, sid, line("L3", "500.00", day="2026-03-19"))).status_code == 201  # billed after
    r = await settle(client, sid, discharged_at="2026-03-20T10:00:00+08:00")
    assert r.status_code == 201, r.text
    settled = r.json()
    told = settled["notice"]
    assert told["notice_id"] == notice["notice_id"] and told["total"] == "3000.00"
    diff = told["difference"]
    assert diff["total"] == "500.00"
    assert parse_yuan(diff["self_pay"]) == parse_yuan(settled["self_pay"]) - parse_yuan(notice["self_pay"])
    assert sum(parse_yuan(v) for v in diff["funds"].values()) + parse_yuan(diff["self_pay"]) == 50000
    assert set(diff["funds"]) == {f["payer"] for f in settled["funds"]} | {f["payer"] for f in notice["funds"]}
    seen = await client.get(f"/v1/settlements/{settled['settlement_id']}", headers=READ)
    assert seen.status_code == 200 and seen.json()["notice"] == told
    r = await client.post(f"/v1/stays/{sid}/discharge-notice", json=body,
                          headers={**READ, "Idempotency-Key": str(uuid.uuid4())})
    assert r.status_code == 409  # a settled stay

"""Issue 12: fee lines, the one-stop settlement, its reversal and the mid-stay part, over HTTP against a real
identity and rules (the quote over NATS request/reply), real PostgreSQL and nats-server."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from ledger_api_helpers import (
    HENAN,
    SHANZHOU_HOSPITAL,
    agreement_body,
    fresh_id,
    hospital,
    outbox,
    register,
    stay_body,
)
from sqlalchemy import text

from onestop.common.testing import bearer
from onestop.contracts.money import parse_yuan

H = SHANZHOU_HOSPITAL


async def admitted(ledger: Any, identity: Any, *, admitted_at: str = "2026-03-10T09:30:00+08:00") -> dict[str, Any]:
    _app, client = ledger
    number = fresh_id(HENAN)
    await register(identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, H), headers=hospital(H))
    assert r.status_code == 201, r.text
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], H, admitted_at=admitted_at),
                          headers=hospital(H))
    assert r.status_code == 201, r.text
    return r.json()


def line(line_id: str, amount: str, cls: str = "A", day: str = "2026-03-11", **extra: Any) -> dict[str, Any]:
    return {"line_id": line_id, "code": "250101001", "name": "血常规", "class": cls, "amount": amount,
            "occurred_at": f"{day}T10:00:00+08:00", **extra}


async def post(client: Any, stay_id: str, *lines: dict[str, Any], key: str | None = None, at: str = H) -> Any:
    headers = {**bearer("hospital", hospital_code=at), "Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post(f"/v1/stays/{stay_id}/fee-lines", json={"lines": list(lines)}, headers=headers)


async def settle(client: Any, stay_id: str, key: str | None = None, at: str = H, **body: Any) -> Any:
    headers = {**bearer("hospital", hospital_code=at), "Idempotency-Key": key or str(uuid.uuid4())}
    return await client.post(f"/v1/stays/{stay_id}/settlement",
                             json={"discharged_at": "2026-03-20T10:00:00+08:00", **body}, headers=headers)


async def accumulators(app: Any, person_ref: str, year: int = 2026) -> tuple[dict[str, Any], int] | None:
    async with app.state.runtime.db.transaction() as s:
        row = (await s.execute(text("SELECT state, version FROM accumulator WHERE person_ref = :p AND year = :y"),
                               {"p": person_ref, "y": year})).first()
    return (row.state, row.version) if row else None


def conserved(body: dict[str, Any]) -> None:
    payers = sum(parse_yuan(p["amount"]) for p in body["payers"])
    assert payers + parse_yuan(body["self_pay"]) == parse_yuan(body["total"]), body
    assert sum(parse_yuan(f["amount"]) for f in body["funds"]) == parse_yuan(body["fund_pay"]) == payers


async def test_bill_refund_settle_reverse_and_settle_again(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    r = await post(client, sid, line("L1", "1000.00"), line("L2", "500.00", "B"), line("L3", "200.00", "C"))
    assert r.status_code == 201 and r.json()["accepted"] == 3 and r.json()["stay_total"] == "1700.00", r.text
    again = await post(client, sid, line("L1", "1000.00"))  # an HIS retrying: a no-op
    assert again.status_code == 201 and again.json()["accepted"] == 0 and again.json()["already_posted"] == 1
    other = await post(client, sid, line("L1", "999.00"))
    assert other.status_code == 409 and other.json()["line_ids"] == ["L1"], other.text
    refund = await post(client, sid, line("R1", "-100.00", refunds_line_id="L1"))
    assert refund.status_code == 201 and refund.json()["stay_total"] == "1600.00", refund.text
    too_much = await post(client, sid, line("R2", "-900.01", refunds_line_id="L1"))
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["field"] == "lines.0.amount"

    r = await settle(client, sid)
    assert r.status_code == 201, r.text
    first = r.json()
    conserved(first)
    assert first["total"] == "1600.00" and first["kind"] == "final" and first["settlement_id"]
    assert first["eligibility_recheck"]["checked"] is True
    assert all(f["nhsa_code"] for f in first["funds"] if f["payer"] == "basic")
    seen = await client.get(f"/v1/stays/{sid}", headers=bearer("hospital", hospital_code=H))
    assert seen.json()["state"] == "settled"
    acc = await accumulators(app, stay["person_ref"])
    assert acc is not None and acc[1] == 1 and acc[0]["paid"]
    [event] = [e for e in await outbox(app, first["settlement_id"]) if e["type"].startswith("ledger.settlement")]
    assert event["subject"] == "onestop.ledger.settlement.finalized.410000.411200.411203"
    data = event["envelope"]["data"]
    assert data["total"] == "1600.00" and data["self_pay"] == first["self_pay"] and data["person_ref"]
    assert [f["amount"] for f in data["funds"]] == [f["amount"] for f in first["funds"]]

    assert (await settle(client, sid)).status_code == 409  # settled
    assert (await post(client, sid, line("L9", "1.00"))).status_code == 409  # a closed stay takes no line

    headers = {**bearer("hospital", hospital_code=H), "Idempotency-Key": str(uuid.uuid4())}
    r = await client.post(f"/v1/settlements/{first['settlement_id']}/reversal", json={"reason": "出院诊断录错"},
                          headers=headers)
    assert r.status_code == 201, r.text
    reversal = r.json()
    assert reversal["kind"] == "reversal" and reversal["reverses"] == first["settlement_id"]
    assert reversal["total"] == "-1600.00" and reversal["self_pay"] == "-" + first["self_pay"]
    assert all(parse_yuan(f["amount"]) <= 0 for f in reversal["funds"])
    assert (await accumulators(app, stay["person_ref"]))[0] == {} or not any(  # type: ignore[index]
        (await accumulators(app, stay["person_ref"]))[0].values())  # type: ignore[index]
    [rev_event] = [e for e in await outbox(app, first["settlement_id"]) if e["type"].endswith("reversed.v1")]
    assert rev_event["envelope"]["data"]["reverses_settlement_id"] == first["settlement_id"]
    assert (await client.get(f"/v1/stays/{sid}", headers=bearer("hospital", hospital_code=H))).json()["state"] == "open"
    again = await client.post(f"/v1/settlements/{first['settlement_id']}/reversal", json={"reason": "x"},
                              headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert again.status_code == 409

    r = await settle(client, sid)  # the re-settlement pays what the first did
    assert r.status_code == 201, r.text
    second = r.json()
    assert [(f["payer"], f["amount"]) for f in second["funds"]] == [(f["payer"], f["amount"]) for f in first["funds"]]
    assert second["self_pay"] == first["self_pay"]


async def test_a_settlement_retried_with_its_key_settles_once_also_at_once(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    assert (await post(client, stay["stay_id"], line("L1", "800.00"))).status_code == 201
    key = str(uuid.uuid4())
    answers = await asyncio.gather(*(settle(client, stay["stay_id"], key=key) for _ in range(4)))
    ok = [a for a in answers if a.status_code == 201]
    assert ok and all(a.status_code in (201, 409) for a in answers), [a.text for a in answers]
    again = await settle(client, stay["stay_id"], key=key)
    assert again.status_code == 201 and again.json() == ok[0].json()
    async with app.state.runtime.db.transaction() as s:
        n = (await s.execute(text("SELECT count(*) FROM settlement WHERE stay_id = :s"),
                             {"s": stay["stay_id"]})).scalar_one()
    assert n == 1 and (await accumulators(app, stay["person_ref"]))[1] == 1  # type: ignore[index]


async def test_bad_input_changes_nothing(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    r = await settle(client, sid)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines", r.text  # no lines
    for bad, field in [(line("X", "1.234"), "lines.0.amount"), (line("X", "1.00", "D"), "lines.0.class"),
                       (line("X", "1.00", day="2026-03-01"), "lines.0.occurred_at"),
                       (line("X", "-1.00"), "lines.0.amount"),
                       (line("X", "-1.00", refunds_line_id="nope"), "lines.0.refunds_line_id")]:
        r = await post(client, sid, bad)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (bad, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    r = await client.post(f"/v1/stays/{sid}/fee-lines", json={"lines": [line(f"L{i}", "1.00") for i in range(1001)]},
                          headers=hospital(H))
    assert r.status_code == 422
    r = await client.post(f"/v1/stays/{sid}/fee-lines", json={"lines": [line("L1", "1.00")]},
                          headers=hospital("H999"))
    assert r.status_code == 404  # another hospital's stay is not even said to exist
    r = await settle(client, sid, discharged_at="2026-03-01")
    assert r.status_code == 422
    seen = await client.get(f"/v1/stays/{sid}", headers=bearer("hospital", hospital_code=H))
    assert seen.json()["state"] == "open"


async def test_rules_unreachable_is_a_503_and_nothing_written(ledger, ledger_identity, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import onestop.ledger.quotes as quotes

    app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    assert (await post(client, stay["stay_id"], line("L1", "300.00"))).status_code == 201
    monkeypatch.setattr(quotes, "QUOTE_SUBJECT", "onestop.rpc.rules.nobody_listens")
    r = await settle(client, stay["stay_id"])
    assert r.status_code == 503 and r.headers.get("retry-after"), r.text
    assert await accumulators(app, stay["person_ref"]) is None
    monkeypatch.undo()
    assert (await settle(client, stay["stay_id"])).status_code == 201


async def test_a_stay_crossing_the_year_is_settled_in_two_parts(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    app, client = ledger
    stay = await admitted(ledger, ledger_identity, admitted_at="2026-12-28T09:00:00+08:00")
    sid = stay["stay_id"]
    r = await post(client, sid, line("D1", "2000.00", day="2026-12-29"), line("J1", "1500.00", day="2027-01-02"))
    assert r.status_code == 201, r.text
    r = await settle(client, sid, discharged_at="2027-01-05")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "discharged_at", r.text
    headers = {**bearer("hospital", hospital_code=H), "Idempotency-Key": str(uuid.uuid4())}
    r = await client.post(f"/v1/stays/{sid}/mid-settlement", json={"through": "2026-12-31"}, headers=headers)
    assert r.status_code == 201, r.text
    part1 = r.json()
    assert part1["kind"] == "mid" and part1["year"] == 2026 and part1["total"] == "2000.00" and not part1["final"]
    conserved(part1)
    # a late line dated inside the settled part goes into the next part
    assert (await post(client, sid, line("D2", "100.00", day="2026-12-30"))).status_code == 201
    r = await settle(client, sid, discharged_at="2027-01-05")
    assert r.status_code == 201, r.text
    part2 = r.json()
    assert part2["year"] == 2027 and part2["part_index"] == 2 and part2["total"] == "1600.00"
    conserved(part2)
    assert (await accumulators(app, stay["person_ref"], 2026))[1] == 1  # type: ignore[index]
    assert (await accumulators(app, stay["person_ref"], 2027))[1] == 1  # type: ignore[index]
    # the parts are reversed newest first
    headers = {**bearer("hospital", hospital_code=H), "Idempotency-Key": str(uuid.uuid4())}
    r = await client.post(f"/v1/settlements/{part1['settlement_id']}/reversal", json={"reason": "x"}, headers=headers)
    assert r.status_code == 409 and r.json()["later_settlement_ids"] == [part2["settlement_id"]], r.text

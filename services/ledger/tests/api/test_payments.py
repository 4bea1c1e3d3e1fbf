"""Issue 13 point 1: payments at the window — on account before settlement (credited by it), of the patient's
share after it, never above what may be paid, refunds of an overpayment, voids, the daily close — over HTTP on a
real stack (identity, rules over NATS, PostgreSQL)."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from typing import Any

from ledger_api_helpers import HENAN, SHANZHOU_HOSPITAL, agreement_body, fresh_id, hospital, outbox, register, stay_body
from sqlalchemy import text
from test_settlement import admitted, line, post, settle

from onestop.common.testing import bearer
from onestop.contracts.money import format_fen, parse_yuan

H = SHANZHOU_HOSPITAL


def cashier(subject: str = "cashier-1", at: str = H, key: str | None = None) -> dict[str, str]:
    return {**bearer("hospital", hospital_code=at, subject=subject), "Idempotency-Key": key or str(uuid.uuid4())}


async def pay(client: Any, stay_id: str, amount: str, *, headers: dict[str, str] | None = None,
              **body: Any) -> Any:
    return await client.post(f"/v1/stays/{stay_id}/payments", json={"amount": amount, "method": "cash", **body},
                             headers=headers or cashier())


async def billed(ledger: Any, identity: Any, *amounts: str) -> dict[str, Any]:
    _app, client = ledger
    stay = await admitted(ledger, identity)
    r = await post(client, stay["stay_id"], *[line(f"L{i}", a) for i, a in enumerate(amounts)])
    assert r.status_code == 201, r.text
    return stay


async def estimate_share(client: Any, stay_id: str) -> int:
    r = await client.post(f"/v1/stays/{stay_id}/estimate", json={"discharged_at": "2026-03-20"},
                          headers=bearer("hospital", hospital_code=H))
    assert r.status_code == 200, r.text
    return parse_yuan(r.json()["self_pay"])


async def test_on_account_is_capped_by_the_estimate_and_credited_by_the_settlement(ledger, ledger_identity):
    app, client = ledger
    stay = await billed(ledger, ledger_identity, "30000.00", "12000.00")
    share = await estimate_share(client, stay["stay_id"])
    assert share > 100, share
    r = await pay(client, stay["stay_id"], format_fen(share + 1))
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "amount" and r.json()["payable"] == format_fen(share)
    first = share // 2
    r = await pay(client, stay["stay_id"], format_fen(first), receipt_no="R-0001")
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "on_account" and r.json()["balance"]["on_account"] == format_fen(first)
    r = await settle(client, stay["stay_id"])
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["payments_on_account"] == format_fen(first)
    assert parse_yuan(s["owed"]) == parse_yuan(s["self_pay"]) - first
    # after settlement: a payment of the share, never above what is owed
    owed = parse_yuan(s["owed"])
    r = await pay(client, stay["stay_id"], format_fen(owed + 1))
    assert r.status_code == 422 and r.json()["payable"] == format_fen(owed), r.text
    r = await pay(client, stay["stay_id"], format_fen(owed), method="wechat")
    assert r.status_code == 201 and r.json()["kind"] == "self_pay", r.text
    assert r.json()["balance"]["owed"] == "0.00"
    r = await client.get(f"/v1/stays/{stay['stay_id']}/payments", headers=bearer("hospital", hospital_code=H))
    assert r.status_code == 200 and [p["kind"] for p in r.json()["items"]] == ["on_account", "self_pay"]
    assert r.json()["balance"]["paid"] == s["self_pay"] and r.json()["balance"]["owed"] == "0.00"
    events = [e for e in await outbox(app, stay["stay_id"]) if e["type"] == "ledger.payment.received.v1"]
    assert [e["envelope"]["data"]["amount"] for e in events] == [format_fen(first), format_fen(owed)]
    assert events[-1]["envelope"]["data"]["owed"] == "0.00"
    assert events[0]["subject"].startswith("onestop.ledger.payment.received.410000.")


async def test_a_payment_retried_with_its_key_counts_once_and_two_at_once_never_exceed_the_owed(
        ledger, ledger_identity):
    _app, client = ledger
    stay = await billed(ledger, ledger_identity, "20000.00")
    owed = parse_yuan((await settle(client, stay["stay_id"])).json()["owed"])
    headers = cashier(key="same-payment")
    first = await pay(client, stay["stay_id"], format_fen(owed // 4), headers=headers)
    again = await pay(client, stay["stay_id"], format_fen(owed // 4), headers=headers)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    rest = owed - owed // 4
    both = await asyncio.gather(pay(client, stay["stay_id"], format_fen(rest)),
                                pay(client, stay["stay_id"], format_fen(rest)))
    assert sorted(r.status_code for r in both) == [201, 422], [r.text for r in both]
    r = await client.get(f"/v1/stays/{stay['stay_id']}/payments", headers=bearer("hospital", hospital_code=H))
    assert len(r.json()["items"]) == 2 and r.json()["balance"]["owed"] == "0.00"


async def test_an_overpayment_on_account_is_refunded_on_its_own_receipt(ledger, ledger_identity):
    _app, client = ledger
    stay = await billed(ledger, ledger_identity, "9000.00", "800.00")
    share = await estimate_share(client, stay["stay_id"])
    assert (await pay(client, stay["stay_id"], format_fen(share), receipt_no="R-100")).status_code == 201
    # a line refunded (退费) after the payment: the settlement's share is smaller than what was paid
    r = await post(client, stay["stay_id"], line("L1-r", "-800.00", refunds_line_id="L1"))
    assert r.status_code == 201, r.text
    s = (await settle(client, stay["stay_id"])).json()
    due = parse_yuan(s["refund_due"])
    assert due == share - parse_yuan(s["self_pay"]) > 0 and s["owed"] == "0.00"
    refund = {"amount": format_fen(due + 1), "method": "cash", "receipt_no": "R-101"}
    r = await client.post(f"/v1/stays/{stay['stay_id']}/refunds", json=refund, headers=cashier())
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "amount", r.text
    r = await client.post(f"/v1/stays/{stay['stay_id']}/refunds", json={**refund, "receipt_no": "R-100",
                                                                        "amount": format_fen(due)},
                          headers=cashier())
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "receipt_no", r.text
    r = await client.post(f"/v1/stays/{stay['stay_id']}/refunds", json={**refund, "amount": format_fen(due)},
                          headers=cashier())
    assert r.status_code == 201 and r.json()["amount"] == format_fen(-due), r.text
    assert r.json()["balance"]["refund_due"] == "0.00" and r.json()["balance"]["paid"] == s["self_pay"]
    r = await client.post(f"/v1/stays/{stay['stay_id']}/refunds", json=refund, headers=cashier())
    assert r.status_code == 422, r.text


async def test_a_mistaken_payment_is_voided_never_deleted(ledger, ledger_identity):
    app, client = ledger
    stay = await billed(ledger, ledger_identity, "15000.00")
    owed = parse_yuan((await settle(client, stay["stay_id"])).json()["owed"])
    wrong = (await pay(client, stay["stay_id"], format_fen(owed), method="card")).json()
    r = await client.post(f"/v1/payments/{wrong['payment_id']}/void", json={"reason": "刷错卡"}, headers=cashier())
    assert r.status_code == 201 and r.json()["kind"] == "void" and r.json()["amount"] == format_fen(-owed), r.text
    assert r.json()["balance"]["owed"] == format_fen(owed)
    r2 = await client.post(f"/v1/payments/{wrong['payment_id']}/void", json={"reason": "again"}, headers=cashier())
    assert r2.status_code == 409, r2.text
    r3 = await client.post(f"/v1/payments/{r.json()['payment_id']}/void", json={"reason": "x"}, headers=cashier())
    assert r3.status_code == 409, r3.text
    r = await client.post(f"/v1/payments/{wrong['payment_id']}/void", json={"reason": "x"},
                          headers=cashier(at="H411203999"))
    assert r.status_code == 404, r.text
    async with app.state.runtime.db.transaction() as s:
        n = (await s.execute(text("SELECT count(*) FROM payment WHERE stay_id = :s"), {"s": stay["stay_id"]})).scalar()
    assert n == 2
    items = (await client.get(f"/v1/stays/{stay['stay_id']}/payments",
                              headers=bearer("hospital", hospital_code=H))).json()["items"]
    assert items[0]["voided_by"] == items[1]["payment_id"] and items[1]["reason"] == "刷错卡"


async def test_bad_payments_are_refused_and_change_nothing(ledger, ledger_identity):
    app, client = ledger
    stay = await billed(ledger, ledger_identity, "5000.00")
    for body, field in [({"amount": "0.00"}, "amount"), ({"amount": "1.005"}, "amount"),
                        ({"amount": "10.00", "method": "bitcoin"}, "method"),
                        ({"amount": "10.00", "paid_at": "2026-03-11T10:00:00"}, "paid_at")]:
        r = await client.post(f"/v1/stays/{stay['stay_id']}/payments", json={"method": "cash", **body},
                              headers=cashier())
        assert r.status_code == 422, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert any(e["field"].endswith(field) for e in r.json()["errors"]), r.text
    r = await pay(client, stay["stay_id"], "10.00", headers=cashier(at="H411203999"))
    assert r.status_code == 404, r.text
    r = await client.post(f"/v1/stays/{stay['stay_id']}/cancel", json={"reason": "登记错误"}, headers=cashier())
    assert r.status_code == 200, r.text
    assert (await pay(client, stay["stay_id"], "10.00")).status_code == 409
    async with app.state.runtime.db.transaction() as s:
        n = (await s.execute(text("SELECT count(*) FROM payment WHERE stay_id = :s"), {"s": stay["stay_id"]})).scalar()
    assert n == 0


async def test_the_daily_close_totals_per_cashier_and_method(ledger, ledger_identity):
    _app, client = ledger
    stay = await billed(ledger, ledger_identity, "25000.00")
    owed = parse_yuan((await settle(client, stay["stay_id"])).json()["owed"])
    day = "2026-03-21T09:00:00+08:00"
    a = (await pay(client, stay["stay_id"], "100.00", headers=cashier("cashier-a"), paid_at=day)).json()
    await pay(client, stay["stay_id"], "200.00", headers=cashier("cashier-a"), paid_at=day, method="wechat")
    await pay(client, stay["stay_id"], format_fen(owed - 300_00), headers=cashier("cashier-b"), paid_at=day)
    assert owed > 300_00
    r = await client.get("/v1/daily-close", params={"hospital_code": H, "date": "2026-03-21"},
                         headers=bearer("hospital", hospital_code=H))
    assert r.status_code == 200, r.text
    close = r.json()
    mine = [x for x in close["lines"] if x["cashier"] in ("cashier-a", "cashier-b")]
    assert {(x["cashier"], x["method"], x["received"]) for x in mine} == {
        ("cashier-a", "cash", "100.00"), ("cashier-a", "wechat", "200.00"),
        ("cashier-b", "cash", format_fen(owed - 300_00))}
    assert sum(parse_yuan(x["net"]) for x in close["lines"]) == parse_yuan(close["total"]["net"])
    # a void counts on the day it is recorded, not on the payment's
    await client.post(f"/v1/payments/{a['payment_id']}/void", json={"reason": "x"}, headers=cashier("cashier-a"))
    again = (await client.get("/v1/daily-close", params={"hospital_code": H, "date": "2026-03-21"},
                              headers=bearer("hospital", hospital_code=H))).json()
    assert again["total"] == close["total"]
    r = await client.get("/v1/daily-close", params={"hospital_code": H, "date": "2026-03-21"},
                         headers={**bearer("hospital", hospital_code=H), "Accept": "text/csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert rows[0] == ["cashier", "method", "count", "received", "refunded", "voided", "net"]
    assert rows[-1][0] == "total" and rows[-1][-1] == close["total"]["net"]
    r = await client.get("/v1/daily-close", params={"hospital_code": H, "date": "2026-03-21"},
                         headers=bearer("hospital", hospital_code="H411203999"))
    assert r.status_code == 403, r.text
    r = await client.get("/v1/daily-close", params={"hospital_code": H, "date": "2026-13-01"},
                         headers=bearer("hospital", hospital_code=H))
    assert r.status_code == 422 and r.json()["errors"][0]["field"].endswith("date"), r.text


async def test_the_payment_that_leaves_nothing_owed_hands_the_documents_back(ledger, ledger_identity):
    """Henan 001 三(二) (policy `documents.returned_on: payment`): 结清个人应承担的费用后，及时归还相关证件."""
    _app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, H,
                                                                documents=["insurance_card", "id_copy"]),
                          headers=hospital(H))
    assert r.status_code == 201, r.text
    agreement_id = r.json()["agreement_id"]
    stay = (await client.post("/v1/stays", json=stay_body(agreement_id, H), headers=hospital(H))).json()
    assert (await post(client, stay["stay_id"], line("L1", "18000.00"))).status_code == 201
    owed = parse_yuan((await settle(client, stay["stay_id"])).json()["owed"])
    part = await pay(client, stay["stay_id"], format_fen(owed - 1))
    assert part.status_code == 201 and "documents_returned" not in part.json(), part.text
    rest = await pay(client, stay["stay_id"], "0.01")
    assert rest.status_code == 201 and sorted(rest.json()["documents_returned"]) == ["id_copy", "insurance_card"]
    got = (await client.get(f"/v1/agreements/{agreement_id}", headers=bearer("hospital", hospital_code=H))).json()
    assert got["documents"] == []
    returned = [h for h in got["custody"] if h["action"] == "returned"]
    assert sorted((h["kind"], h["returned_to"]) for h in returned) == [("id_copy", "self"), ("insurance_card", "self")]

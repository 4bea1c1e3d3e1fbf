"""Issue 13 point 2: the repayment plan over HTTP — instalments that add up to what is owed, their statuses as
payments come (oldest first) and time passes, a renegotiated plan replacing the old one and keeping it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from ledger_api_helpers import SHANZHOU_HOSPITAL, outbox
from test_payments import billed, cashier, pay
from test_settlement import settle

from onestop.common.clock import today
from onestop.common.testing import bearer
from onestop.contracts.money import format_fen, parse_yuan

H = SHANZHOU_HOSPITAL
SIGNER = {"name": "王秀英", "relation": "self"}


def plan(*instalments: tuple[Any, int], **extra: Any) -> dict[str, Any]:
    return {"instalments": [{"due_date": d.isoformat(), "amount": format_fen(a)} for d, a in instalments],
            "signer": SIGNER, **extra}


async def sign(client: Any, stay_id: str, body: dict[str, Any]) -> Any:
    return await client.post(f"/v1/stays/{stay_id}/repayment-plan", json=body, headers=cashier(key=str(uuid.uuid4())))


async def settled_owing(ledger: Any, identity: Any) -> tuple[str, int]:
    _app, client = ledger
    stay = await billed(ledger, identity, "40000.00", "6000.00")
    r = await settle(client, stay["stay_id"])
    assert r.status_code == 201, r.text
    owed = parse_yuan(r.json()["owed"])
    assert owed > 300, owed
    return stay["stay_id"], owed


async def test_a_plan_adds_up_and_its_instalments_go_due_paid_overdue(ledger, ledger_identity):
    app, client = ledger
    stay_id, owed = await settled_owing(ledger, ledger_identity)
    d1, d2, d3 = (today() + timedelta(days=n) for n in (30, 60, 90))
    first, second = owed // 3, owed // 3
    third = owed - first - second
    r = await sign(client, stay_id, plan((d1, first), (d2, second), (d3, third - 1)))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "instalments", r.text
    assert r.json()["owed"] == format_fen(owed)
    r = await sign(client, stay_id, plan((today() - timedelta(days=1), first), (d2, second), (d3, third)))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "instalments.0.due_date", r.text
    r = await sign(client, stay_id, plan((d2, first), (d1, second), (d3, third)))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "instalments.1.due_date", r.text
    r = await sign(client, stay_id, plan((d1, first), (d2, second), (d3, third)))
    assert r.status_code == 201, r.text
    assert [x["status"] for x in r.json()["instalments"]] == ["due", "due", "due"]
    plan_id = r.json()["plan_id"]
    # the first instalment paid, a little of the second
    assert (await pay(client, stay_id, format_fen(first + 1))).status_code == 201
    url = f"/v1/stays/{stay_id}/repayment-plan"
    got = (await client.get(url, headers=bearer("hospital", hospital_code=H))).json()
    assert [(x["status"], x["paid"]) for x in got["instalments"]] == [
        ("paid", format_fen(first)), ("due", "0.01"), ("due", "0.00")]
    later = (await client.get(url, params={"as_of": (d2 + timedelta(days=1)).isoformat()},
                              headers=bearer("hospital", hospital_code=H))).json()
    assert [x["status"] for x in later["instalments"]] == ["paid", "overdue", "due"]
    assert later["owed"] == format_fen(owed - first - 1)
    events = [e for e in await outbox(app, stay_id) if e["type"] == "ledger.repayment_plan.signed.v1"]
    assert len(events) == 1 and events[0]["envelope"]["data"]["plan_id"] == plan_id
    assert "王秀英" not in str(events[0]["envelope"])
    r = await client.get(url, headers=bearer("hospital", hospital_code="H411203999"))
    assert r.status_code == 404, r.text


async def test_a_renegotiated_plan_replaces_the_old_one_and_keeps_it(ledger, ledger_identity):
    _app, client = ledger
    stay_id, owed = await settled_owing(ledger, ledger_identity)
    d1 = today() + timedelta(days=30)
    old = (await sign(client, stay_id, plan((d1, owed)))).json()
    r = await sign(client, stay_id, plan((d1, owed)))
    assert r.status_code == 409 and r.json()["plan_id"] == old["plan_id"], r.text
    assert (await pay(client, stay_id, "100.00")).status_code == 201
    # after a home visit: what is owed now, over two later dates
    d2, d3 = today() + timedelta(days=120), today() + timedelta(days=240)
    rest = owed - 100_00
    r = await sign(client, stay_id, plan((d2, rest // 2), (d3, rest - rest // 2), replaces_plan_id=old["plan_id"]))
    assert r.status_code == 201, r.text
    got = (await client.get(f"/v1/stays/{stay_id}/repayment-plan", headers=bearer("hospital", hospital_code=H))).json()
    assert got["plan_id"] == r.json()["plan_id"] and got["replaces"] == old["plan_id"]
    assert got["history"][0]["plan_id"] == old["plan_id"] and got["history"][0]["state"] == "replaced"
    assert [x["status"] for x in got["instalments"]] == ["due", "due"]


async def test_no_plan_before_settlement_or_when_nothing_is_owed(ledger, ledger_identity):
    _app, client = ledger
    stay = await billed(ledger, ledger_identity, "3000.00")
    d1 = today() + timedelta(days=30)
    r = await sign(client, stay["stay_id"], plan((d1, 100)))
    assert r.status_code == 409, r.text
    owed = parse_yuan((await settle(client, stay["stay_id"])).json()["owed"])
    assert (await pay(client, stay["stay_id"], format_fen(owed))).status_code == 201
    r = await sign(client, stay["stay_id"], plan((d1, 100)))
    assert r.status_code == 409 and r.json()["owed"] == "0.00", r.text
    r = await client.get(f"/v1/stays/{stay['stay_id']}/repayment-plan", headers=bearer("hospital", hospital_code=H))
    assert r.status_code == 404, r.text

"""Issue 12 points 9, 10, 12: GET /v1/settlements (filters, totals, cursor, scopes), a settlement's lines, the
national 2304 view, and the access audit of those reads — over HTTP against a real identity and rules, real
PostgreSQL and nats-server. The session's ledger is shared with other tests: assertions are about the
settlements made here (each exactly once), and the totals against every page of the same filtered walk."""

from __future__ import annotations

import uuid
from typing import Any

from ledger_api_helpers import QIDONG, QIDONG_PEOPLES, agreement_body, fresh_id, hospital, register, stay_body
from test_settlement import H, admitted, line, post, settle

from onestop.common.testing import bearer, session_keys
from onestop.common.tokens import ServiceTokenMinter
from onestop.contracts.money import parse_yuan
from onestop.contracts.settlement_list import SettlementPage

MARCH = {"hospital_code": H, "period": "2026-03"}
NHSA_MONEY = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt", "inscp_scp_amt",
              "act_pay_dedc", "hifp_pay", "hifmi_pay", "hifob_pay", "maf_pay", "oth_pay", "fund_pay_sumamt",
              "hosp_part_amt", "psn_part_amt", "psn_cash_pay")


def fen(value: str) -> int:
    return -parse_yuan(value[1:]) if value.startswith("-") else parse_yuan(value)


async def walk(client: Any, headers: dict[str, str], params: dict[str, Any], limit: int = 2) -> tuple[
        list[dict[str, Any]], dict[str, Any]]:
    """Every page of a filtered list; the totals are the same on each page."""
    items: list[dict[str, Any]] = []
    totals: dict[str, Any] | None = None
    cursor = None
    while True:
        r = await client.get("/v1/settlements", params={**params, "limit": limit, **({"cursor": cursor} if cursor
                                                                                     else {})}, headers=headers)
        assert r.status_code == 200, r.text
        body = r.json()
        SettlementPage.model_validate(body)  # the contract clearing parses the list with
        assert totals is None or body["totals"] == totals
        totals = body["totals"]
        items += body["items"]
        cursor = body["next_cursor"]
        if cursor is None:
            assert totals is not None
            return items, totals


async def settled(ledger: Any, identity: Any, *amounts: str) -> dict[str, Any]:
    _app, client = ledger
    stay = await admitted(ledger, identity)
    lines = [line(f"L{i}", a, "AB"[i % 2]) for i, a in enumerate(amounts)]
    assert (await post(client, stay["stay_id"], *lines)).status_code == 201
    r = await settle(client, stay["stay_id"])
    assert r.status_code == 201, r.text
    return r.json()


async def reverse(client: Any, settlement_id: str) -> dict[str, Any]:
    r = await client.post(f"/v1/settlements/{settlement_id}/reversal", json={"reason": "诊断录错"},
                          headers=hospital(H))
    assert r.status_code == 201, r.text
    return r.json()


def service_token(name: str) -> dict[str, str]:
    token = ServiceTokenMinter(name, session_keys().service_keys[name]).token_for("ledger")
    return {"Authorization": f"Bearer {token}"}


async def test_filters_totals_cursor_and_a_reversal_negative(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    made = [await settled(ledger, ledger_identity, a, "200.00") for a in ("1000.00", "500.00", "300.00")]
    reversal = await reverse(client, made[2]["settlement_id"])
    mine = {s["settlement_id"] for s in made} | {reversal["settlement_id"]}
    subject = f"op-{uuid.uuid4().hex[:8]}"
    op = bearer("operator", subject=subject)

    items, totals = await walk(client, op, MARCH)
    ids = [i["settlement_id"] for i in items]
    assert len(ids) == len(set(ids)) and mine <= set(ids)  # every page once, nothing twice
    assert totals["count"] == len(items)
    for key in ("total", "fund_pay", "self_pay", "hosp_part_amt"):
        assert fen(totals[key]) == sum(fen(i[key]) for i in items), key
    per_payer: dict[str, int] = {}
    for i in items:
        assert fen(i["total"]) == fen(i["fund_pay"]) + fen(i["self_pay"])  # money conserved per settlement
        assert sum(fen(f["amount"]) for f in i["funds"]) == fen(i["fund_pay"])
        assert i["period"] == "2026-03" and i["hospital_code"] == H
        for f in i["funds"]:
            per_payer[f["payer"]] = per_payer.get(f["payer"], 0) + fen(f["amount"])
    assert {p["payer"]: fen(p["amount"]) for p in totals["payers"]} == per_payer

    [rev] = [i for i in items if i["settlement_id"] == reversal["settlement_id"]]
    [orig] = [i for i in items if i["settlement_id"] == made[2]["settlement_id"]]
    # the list says what the settlement said (the lists once answered fen read as yuan: every amount 100 times)
    for answered in made:
        [listed] = [i for i in items if i["settlement_id"] == answered["settlement_id"]]
        assert (listed["total"], listed["self_pay"], listed["fund_pay"]) == (
            answered["total"], answered["self_pay"], answered["fund_pay"])
        assert [f["amount"] for f in listed["funds"]] == [f["amount"] for f in answered["funds"]]
    assert rev["kind"] == "reversal" and rev["reverses"] == orig["settlement_id"] and fen(rev["total"]) < 0
    assert fen(rev["total"]) == -fen(orig["total"]) and fen(rev["self_pay"]) == -fen(orig["self_pay"])
    assert [fen(f["amount"]) for f in rev["funds"]] == [-fen(f["amount"]) for f in orig["funds"]]
    assert orig["reversed_by"] == rev["settlement_id"] and rev["lines"].endswith("/lines")

    # a payer filter takes the settlements that fund paid; another month takes none of these
    payer = next(f["payer"] for f in made[0]["funds"] if fen(f["amount"]) > 0)
    paid, _t = await walk(client, op, {**MARCH, "payer": payer, "region_code": "410000"}, limit=50)
    assert {s["settlement_id"] for s in made} <= {i["settlement_id"] for i in paid}
    assert all(any(f["payer"] == payer and fen(f["amount"]) != 0 for f in i["funds"]) for i in paid)
    april, _t = await walk(client, op, {"hospital_code": H, "period": "2026-04"}, limit=50)
    assert not mine & {i["settlement_id"] for i in april}

    for params, field in [({"period": "2026-13"}, "period"), ({"period": "202603"}, "period"),
                          ({"period": "0000-01"}, "period"), ({"period": "9999-12"}, "period"),
                          ({"cursor": "not-a-cursor"}, "cursor"), ({"limit": 0}, "limit"),
                          ({"region_code": "41"}, "region_code"), ({"payer": "Basic!"}, "payer"),
                          ({"hospital_code": "H\x00"}, "hospital_code"), ({"cursor": "WyJ4Il0"}, "cursor"),
                          ({"cursor": "WzkyMjMzNzIwMzY4NTQ3NzU4MDhd"}, "cursor")]:  # ["x"]; 2**63
        r = await client.get("/v1/settlements", params=params, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == field, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")

    r = await client.get("/v1/access-audit", params={"subject": subject, "limit": 500}, headers=bearer("operator"))
    assert r.status_code == 200, r.text
    rows = r.json()["items"]
    lists = [a for a in rows if a["endpoint"] == "GET /v1/settlements"]
    pages = sum(max(1, -(-n // size)) for n, size in ((len(items), 2), (len(paid), 50), (len(april), 50)))
    assert len(lists) == pages and all(a["role"] == "operator" for a in lists)  # one row per request, not per item
    assert any(a["detail"] == "hospital_code=H411203001&period=2026-03" for a in lists)


async def test_lines_and_the_national_view(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    stay = await admitted(ledger, ledger_identity)
    sid = stay["stay_id"]
    assert (await post(client, sid, line("L1", "1200.00"), line("L2", "300.00", "C"))).status_code == 201
    assert (await post(client, sid, line("R1", "-200.00", refunds_line_id="L1"))).status_code == 201
    r = await settle(client, sid)
    assert r.status_code == 201, r.text
    s = r.json()
    h = bearer("hospital", hospital_code=H)

    r = await client.get(f"/v1/settlements/{s['settlement_id']}/lines", headers=h)
    assert r.status_code == 200, r.text
    lines = r.json()
    assert [x["line_id"] for x in lines["items"]] == ["L1", "L2", "R1"] and lines["total"] == "1300.00"
    assert lines["items"][2]["refunds_line_id"] == "L1" and lines["items"][2]["amount"] == "-200.00"

    r = await client.get(f"/v1/settlements/{s['settlement_id']}", params={"shape": "nhsa"}, headers=h)
    assert r.status_code == 200, r.text
    info, detail = r.json()["setlinfo"], r.json()["setldetail"]
    assert info["setl_id"] == s["settlement_id"] and info["mdtrt_id"] == sid and info["psn_no"] == s["person_ref"]
    assert fen(info["medfee_sumamt"]) == fen(s["total"]) + fen(s["hosp_part_amt"])
    assert fen(info["fund_pay_sumamt"]) + fen(info["psn_part_amt"]) + fen(info["hosp_part_amt"]) \
        == fen(info["medfee_sumamt"])
    assert info["psn_part_amt"] == s["self_pay"] and info["fulamt_ownpay_amt"] == s["class_c_amount"]
    assert info["insutype"] == "390" and info["med_type"] == "21" and info["setl_time"].startswith("2026-")
    assert [(d["fund_pay_type"], d["fund_payamt"]) for d in detail] == [
        (f["nhsa_code"] or "999997", f["amount"]) for f in s["funds"]]
    assert all(v.count(".") == 1 and len(v.split(".")[1]) == 2 for k, v in info.items() if k in NHSA_MONEY)

    reversal = await reverse(client, s["settlement_id"])
    r = await client.get(f"/v1/settlements/{reversal['settlement_id']}", params={"shape": "nhsa"}, headers=h)
    assert r.status_code == 200, r.text
    rinfo, rdetail = r.json()["setlinfo"], r.json()["setldetail"]
    assert all(fen(rinfo[k]) == -fen(info[k]) for k in NHSA_MONEY), rinfo  # every amount negated
    assert fen(rinfo["medfee_sumamt"]) < 0 and all(fen(d["fund_payamt"]) <= 0 for d in rdetail)
    r = await client.get(f"/v1/settlements/{reversal['settlement_id']}/lines", headers=h)
    assert [x["line_id"] for x in r.json()["items"]] == ["L1", "L2", "R1"]  # what the reversal gave back

    r = await client.get(f"/v1/settlements/{s['settlement_id']}", params={"shape": "his"}, headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "shape"


async def test_scopes(ledger, ledger_identity) -> None:  # type: ignore[no-untyped-def]
    _app, client = ledger
    henan = await settled(ledger, ledger_identity, "900.00")
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")
    r = await client.post("/v1/agreements", json=agreement_body(number, QIDONG, QIDONG_PEOPLES),
                          headers=hospital(QIDONG_PEOPLES))
    r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], QIDONG_PEOPLES),
                          headers=hospital(QIDONG_PEOPLES))
    qstay = r.json()["stay_id"]
    assert (await post(client, qstay, line("Q1", "700.00"), at=QIDONG_PEOPLES)).status_code == 201
    r = await settle(client, qstay, at=QIDONG_PEOPLES)
    assert r.status_code == 201, r.text
    qidong = r.json()
    a, b = henan["settlement_id"], qidong["settlement_id"]
    payer = next(f["payer"] for f in henan["funds"] if fen(f["amount"]) > 0)

    async def seen(headers: dict[str, str], **params: Any) -> set[str]:
        items, _t = await walk(client, headers, {"period": "2026-03", **params}, limit=200)
        return {i["settlement_id"] for i in items}

    # hospital B sees none of A's, and may not ask for A's
    assert b in await seen(bearer("hospital", hospital_code=QIDONG_PEOPLES))
    assert a not in await seen(bearer("hospital", hospital_code=QIDONG_PEOPLES))
    r = await client.get("/v1/settlements", params={"hospital_code": H}, headers=bearer(
        "hospital", hospital_code=QIDONG_PEOPLES))
    assert r.status_code == 403
    for path in (f"/v1/settlements/{a}", f"/v1/settlements/{a}/lines"):
        assert (await client.get(path, headers=bearer("hospital", hospital_code=QIDONG_PEOPLES))).status_code == 404

    # a bureau: its region and the counties in it; another region's nothing
    for region in ("410000", "411200", "411203"):
        assert a in await seen(bearer("bureau", region_code=region), hospital_code=H), region
    assert a not in await seen(bearer("bureau", region_code=QIDONG))
    assert b in await seen(bearer("bureau", region_code="320000"))
    r = await client.get("/v1/settlements", params={"region_code": "410000"}, headers=bearer("bureau",
                                                                                             region_code=QIDONG))
    assert r.status_code == 403

    # a payer: the settlements its fund paid, in its region; another fund or region nothing
    assert a in await seen(bearer("payer", payer=payer, region_code="410000"), hospital_code=H)
    assert a not in await seen(bearer("payer", payer=payer, region_code=QIDONG))
    assert a not in await seen(bearer("payer", payer="no_such_fund", region_code="410000"), hospital_code=H)
    r = await client.get("/v1/settlements", params={"payer": "charity"}, headers=bearer(
        "payer", payer=payer, region_code="410000"))
    assert r.status_code == 403
    r = await client.get(f"/v1/settlements/{a}/lines", headers=bearer("payer", payer=payer, region_code="410000"))
    assert r.status_code == 200 and [x["line_id"] for x in r.json()["items"]] == ["L0"]
    r = await client.get(f"/v1/settlements/{a}", params={"shape": "nhsa"},
                         headers=bearer("payer", payer=payer, region_code="410000"))
    assert r.status_code == 200 and r.json()["setlinfo"]["setl_id"] == a
    for other in (bearer("payer", payer=payer, region_code=QIDONG), bearer("payer", payer="x", region_code="410000")):
        assert (await client.get(f"/v1/settlements/{a}/lines", headers=other)).status_code == 404

    # clearing's service token reads all (its reconciliation); another service none
    assert {a, b} <= await seen(service_token("clearing"))
    assert (await client.get("/v1/settlements", headers=service_token("rules"))).status_code == 403

"""POST /v1/eligibility for each seed region with the SHIPPED policies, served by an in-process rules app."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from identity_api_helpers import auth, csv_bytes, idem, make_id, row, unique_seq, upload
from sqlalchemy import text as sql

from onestop.common.clock import today
from onestop.common.testing import all_items

ON = "2026-03-10"


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged during the test, formatted as the service formats it."""
    root = logging.getLogger()
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    if root.handlers:
        handler.setFormatter(root.handlers[0].formatter)
    root.addHandler(handler)
    yield buf
    root.removeHandler(handler)


async def load(client: Any, app: Any, rows: list[list[str]], source: str = "poverty_office") -> None:
    r = await upload(client, app, csv_bytes(rows), source=source)
    assert r.status_code == 201 and not r.json()["rejected"], r.text


async def ask(client: Any, app: Any, id_number: str, region: str, hospital: str, on: str = ON, **claims: Any) -> Any:
    headers = auth(app, "hospital", hospital_code=hospital) if not claims else auth(app, **claims)
    return await client.post("/v1/eligibility", headers=headers,
                             json={"id_number": id_number, "region_code": region, "hospital_code": hospital,
                                   "date": on})


async def test_henan_county_hospital(identity, captured_logs) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    seq = unique_seq()
    poor, other = make_id("411203", seq), make_id("411203", seq + 1)
    await load(client, app, [row(poor, "建档立卡贫困人口", "411203", name="李建国"),
                             row(poor, "参保人员", "411203", insurance="城乡居民", name="李建国"),
                             row(other, "参保人员", "411203", insurance="城乡居民", name="张桂兰")])
    r = await ask(client, app, poor, "411203", "H411203001")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["eligible"] is True and body["categories"] == ["registered_poor"]
    assert body["matched_groups"] == ["henan_poor"] and body["insurance"]["scheme"] == "resident"
    assert body["id_number_masked"] == poor[:4] + "*" * 10 + poor[-4:] and body["person_id"]
    assert body["policy"]["region_code"] == "411203"
    # the version used is named whether the rule came from policy.published or from rules over HTTP
    assert isinstance(body["policy"]["version"], int) and body["policy"]["policy_id"], body["policy"]
    assert poor not in r.text and "李建国" not in r.text
    r = await ask(client, app, other, "411203", "H411203001")
    assert r.json()["eligible"] is False and "category_not_admitted" in [x["code"] for x in r.json()["reasons"]]
    logs = captured_logs.getvalue()
    assert poor not in logs and other not in logs and "李建国" not in logs


async def test_hotan_groups(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    seq = unique_seq()
    rural, servant = make_id("653201", seq), make_id("653201", seq + 1)
    await load(client, app, [row(rural, "参保人员", "653201", insurance="城乡居民", household="农村"),
                             row(servant, "参保人员", "653201", insurance="职工", household="城镇",
                                 civil_servant="是")],
               source="insurance")
    r = await ask(client, app, rural, "653200", "H653200001")
    assert r.json()["eligible"] is True and r.json()["matched_groups"] == ["rural_resident"], r.text
    r = await ask(client, app, servant, "653200", "H653200001")
    assert r.json()["eligible"] is False
    assert "civil_servant_excluded" in [x["code"] for x in r.json()["reasons"]]


async def test_guyang_poor_population_and_unknown_person(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    seq = unique_seq()
    poor = make_id("150222", seq)
    await load(client, app, [row(poor, "特困供养人员", "150222"),
                             row(poor, "参保人员", "150222", insurance="城乡居民")])
    r = await ask(client, app, poor, "150222", "H150222001")
    assert r.json()["eligible"] is True and r.json()["categories"] == ["extreme_poverty"], r.text
    unknown = make_id("150222", seq + 500)
    r = await ask(client, app, unknown, "150222", "H150222001")
    assert r.status_code == 200
    assert r.json()["eligible"] is False and r.json()["person_id"] is None
    assert [x["code"] for x in r.json()["reasons"]] == ["not_on_register"]


async def test_bad_input_and_scope(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    good = make_id("150222", 3)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    r = await ask(client, app, bad, "150222", "H150222001")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id_number" and bad not in r.text
    future = make_id("150222", 3).replace("1970", "2099", 1)
    r = await ask(client, app, future[:17] + "0", "150222", "H150222001")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "id_number"
    r = await ask(client, app, good, "990000", "H150222001")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region_code"
    r = await client.post("/v1/eligibility", json={"id_number": good})
    assert r.status_code == 401
    r = await client.post("/v1/eligibility", headers=auth(app, "hospital", hospital_code="H150222002"),
                          json={"id_number": good, "region_code": "150222", "hospital_code": "H150222001"})
    assert r.status_code == 403


async def test_qidong_employee_blacklist_blocks_direct_settlement(identity) -> None:  # type: ignore[no-untyped-def]
    app, client = identity
    seq = unique_seq()
    emp, res = make_id("320681", seq), make_id("320681", seq + 1)
    await load(client, app, [row(emp, "参保人员", "320681", insurance="职工"),
                             row(res, "参保人员", "320681", insurance="城乡居民")], source="insurance")
    r = await ask(client, app, emp, "320681", "H320681002")
    assert r.json()["eligible"] is True and r.json()["direct_settlement_allowed"] is True, r.text
    r = await ask(client, app, res, "320681", "H320681001")
    assert r.json()["eligible"] is False
    assert "insurance_not_admitted" in [x["code"] for x in r.json()["reasons"]]

    # Open a case (428 without a key), decide after the household visit, then lift.
    case = {"id_number": emp, "region_code": "320681", "reason": "出院后三个月未还款，拒接电话"}
    r = await client.post("/v1/credit-cases", json=case, headers=auth(app))
    assert r.status_code == 428
    r = await client.post("/v1/credit-cases", json=case, headers=idem(app, "hospital", hospital_code="H320681001"))
    assert r.status_code == 403
    r = await client.post("/v1/credit-cases", json=case, headers=idem(app))
    assert r.status_code == 201, r.text
    case_id = r.json()["case_id"]
    assert r.json()["state"] == "suspected" and emp not in r.text
    r = await client.post(f"/v1/credit-cases/{case_id}/decision", headers=idem(app),
                          json={"decision": "blacklist", "reason": "入户核实有还款能力而拒不还款"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "household_visit_on"
    r = await client.post(f"/v1/credit-cases/{case_id}/decision", headers=idem(app),
                          json={"decision": "blacklist", "reason": "入户核实有还款能力而拒不还款",
                                "household_visit_on": "2026-03-01"})
    assert r.status_code == 200 and r.json()["state"] == "blacklisted", r.text
    r = await ask(client, app, emp, "320681", "H320681001", today().isoformat())  # blacklisted as of today
    body = r.json()
    assert body["eligible"] is False and body["blacklisted"] is True
    assert body["direct_settlement_allowed"] is False
    assert "医保直接报销" in next(x["text_zh"] for x in body["reasons"] if x["code"] == "blacklisted")
    view = await client.get(f"/v1/persons/{body['person_id']}", headers=auth(app, "hospital",
                                                                             hospital_code="H320681001"))
    assert view.status_code == 200 and view.json()["blacklisted"] is True and "statuses" not in view.json()
    r = await client.post(f"/v1/credit-cases/{case_id}/lift", headers=idem(app), json={"reason": "已全部还清"})
    assert r.status_code == 200 and [h["state"] for h in r.json()["history"]] == ["suspected", "blacklisted", "lifted"]
    r = await ask(client, app, emp, "320681", "H320681001", today().isoformat())
    assert r.json()["eligible"] is True and r.json()["blacklisted"] is False

    # The answer is for the date asked: before the decision and from the lift on, not blacklisted.
    async with app.state.runtime.db.transaction() as s:
        await s.execute(sql("UPDATE credit_case_event SET at = CASE state WHEN 'blacklisted' THEN "
                            "timestamptz '2026-01-10 09:00+08' WHEN 'lifted' THEN timestamptz '2026-02-10 09:00+08' "
                            "ELSE at END WHERE case_id = :c"), {"c": case_id})
    for on, listed in (("2026-01-09", False), ("2026-01-10", True), ("2026-02-09", True), ("2026-02-10", False)):
        r = await ask(client, app, emp, "320681", "H320681001", on)
        assert r.json()["blacklisted"] is listed, (on, r.text)

    # Every read of the person was audited; operators can query it, others cannot.
    audit = await all_items(client, "/v1/access-audit", params={"person_id": body["person_id"], "limit": 2},
                            headers=auth(app))
    endpoints = [a["endpoint"] for a in audit]
    assert endpoints.count("POST /v1/eligibility") == 7 and "GET /v1/persons/{person_id}" in endpoints
    assert {a["subject"] for a in audit} == {"hospital:H320681001", "hospital:H320681002"}
    assert [a["at"] for a in audit] == sorted((a["at"] for a in audit), reverse=True)  # newest first
    r = await client.get("/v1/access-audit", headers=auth(app, "hospital", hospital_code="H320681001"))
    assert r.status_code == 403

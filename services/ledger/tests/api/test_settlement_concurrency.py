"""Issue 12: settlements of one person at two hospitals at once serialise on the person-year's accumulators, and
the second is quoted on the first's result (启东 004: one agreement valid at every public hospital of the city)."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from ledger_api_helpers import (
    QIDONG,
    QIDONG_PEOPLES,
    QIDONG_TCM,
    agreement_body,
    fresh_id,
    hospital,
    register,
    stay_body,
)
from sqlalchemy import text
from test_settlement import accumulators, conserved, line, post, settle

from onestop.common.testing import bearer
from onestop.contracts.quote import AccumulatorDelta, Accumulators, apply_delta


async def test_two_hospitals_at_once_leave_the_accumulators_as_one_after_the_other(  # type: ignore[no-untyped-def]
        ledger, ledger_identity, ledger_rules) -> None:
    app, client = ledger
    number = fresh_id(QIDONG)
    await register(ledger_identity, number, QIDONG, None, "职工")
    r = await client.post("/v1/agreements", json=agreement_body(number, QIDONG, QIDONG_PEOPLES),
                          headers=hospital(QIDONG_PEOPLES))
    assert r.status_code == 201, r.text
    agreement_id = r.json()["agreement_id"]
    stays = {}
    for code in (QIDONG_PEOPLES, QIDONG_TCM):
        r = await client.post("/v1/stays", json=stay_body(agreement_id, code), headers=hospital(code))
        assert r.status_code == 201, r.text
        stays[code] = r.json()
        r = await post(client, stays[code]["stay_id"], line("L1", "100000.00"), line("L2", "4000.00", "B"),
                       at=code)
        assert r.status_code == 201, r.text

    # both quotes are answered only once both were asked: each is made on the same (empty) year, so the one that
    # commits second must find the accumulators moved and be quoted again under the lock
    quotes = app.state.runtime.extras["quotes"]
    asked = asyncio.Barrier(2)

    class BothAtOnce:
        calls = 0

        async def quote(self, request: dict[str, Any]) -> dict[str, Any]:
            BothAtOnce.calls += 1
            if BothAtOnce.calls <= 2:
                await asyncio.wait_for(asked.wait(), 10)
            return await quotes.quote(request)

    app.state.runtime.extras["quotes"] = BothAtOnce()
    try:
        results = await asyncio.gather(*(settle(client, s["stay_id"], at=code) for code, s in stays.items()))
    finally:
        app.state.runtime.extras["quotes"] = quotes
    assert BothAtOnce.calls == 3  # two quotes at once, and the second's again on the first's result
    assert [x.status_code for x in results] == [201, 201], [x.text for x in results]
    for x in results:
        conserved(x.json())
    person_ref = stays[QIDONG_PEOPLES]["person_ref"]
    state, version = await accumulators(app, person_ref)  # type: ignore[misc]
    assert version == 2
    async with app.state.runtime.db.transaction() as s:
        order = [str(r[0]) for r in await s.execute(text(
            "SELECT settlement_id FROM settlement WHERE person_ref = :p ORDER BY seq"), {"p": person_ref})]
    by_id = {x.json()["settlement_id"]: x.json() for x in results}
    first, second = by_id[order[0]], by_id[order[1]]
    after_first = apply_delta(Accumulators(), AccumulatorDelta.model_validate(first["delta"]))
    both = apply_delta(after_first, AccumulatorDelta.model_validate(second["delta"]))
    assert Accumulators.model_validate(state) == both

    # the second was quoted on the first's result: rules, asked with it, answers the same amounts
    stay = next(s for s in stays.values() if s["stay_id"] == second["stay_id"])
    request = {"region_code": QIDONG, "date": "2026-03-20", "person": stay["person"],
               "stay": {"kind": "inpatient", "hospital_level": stay["hospital_level"],
                        "hospital_code": stay["hospital_code"], "admitted_at": "2026-03-10",
                        "discharged_at": "2026-03-20"},
               "accumulators": after_first.model_dump(mode="json"),
               "lines": [line("L1", "100000.00"), line("L2", "4000.00", "B")]}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(ledger_rules), base_url="http://rules") as rules:
        quoted = await rules.post("/v1/quotes", json=request, headers=bearer("operator"))
    assert quoted.status_code == 200, quoted.text
    assert [(p["payer"], p["amount"]) for p in quoted.json()["payers"]] == [
        (p["payer"], p["amount"]) for p in second["payers"]]
    assert quoted.json()["delta"] == second["delta"]
    assert any(p["payer"] == "critical_illness" and p["amount"] != "0.00" for p in second["payers"]), second["payers"]
    assert not any(p["payer"] == "critical_illness" and p["amount"] != "0.00" for p in first["payers"])

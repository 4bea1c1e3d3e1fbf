"""Issue 12: random sequences of lines, refunds, settlements and reversals over HTTP against a simple model.

The model: a settlement bills the unsettled lines less their refunds; each conserves money to the fen; the
person-year's accumulators are the sum of the deltas of the settlements that stand (a reversal takes its
original's out); a reversal is allowed only of the latest standing settlement; re-settling a reversed bill on the
same accumulators pays what the original did."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_api_helpers import HENAN, SHANZHOU_HOSPITAL, agreement_body, fresh_id, hospital, register, stay_body
from test_settlement import accumulators, conserved, line, post, settle

from onestop.common.testing import bearer
from onestop.contracts.money import format_fen, parse_yuan
from onestop.contracts.quote import AccumulatorDelta, Accumulators, apply_delta

H = SHANZHOU_HOSPITAL
step = st.one_of(
    st.tuples(st.just("line"), st.integers(1, 900_000), st.sampled_from("AABBC")),
    st.tuples(st.just("refund"), st.integers(0, 50), st.integers(1, 100)),
    st.tuples(st.just("settle"), st.just(0), st.just("")),
    st.tuples(st.just("reverse"), st.just(0), st.just("")),
)


class Model:
    def __init__(self) -> None:
        self.lines: dict[str, int] = {}  # unsettled charge lines, net of refunds
        self.standing: list[dict[str, Any]] = []  # settlements that stand, oldest first
        self.reversed_bills: dict[str, tuple[list[tuple[str, str]], str]] = {}  # bill -> what it paid

    def accumulators(self) -> Accumulators:
        acc = Accumulators()
        for s in self.standing:
            acc = apply_delta(acc, AccumulatorDelta.model_validate(s["delta"]))
        return acc


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(step, min_size=3, max_size=12))
async def test_random_bills_settlements_and_reversals_agree_with_the_model(  # type: ignore[no-untyped-def]
        ledger, ledger_identity, steps) -> None:
    app, client = ledger
    number = fresh_id(HENAN)
    await register(ledger_identity, number, HENAN, "建档立卡贫困人口", "城乡居民")
    model = Model()
    stay: dict[str, Any] = {}
    person_ref = ""

    async def admit() -> None:
        r = await client.post("/v1/agreements", json=agreement_body(number, HENAN, H), headers=hospital(H))
        assert r.status_code == 201, r.text
        r = await client.post("/v1/stays", json=stay_body(r.json()["agreement_id"], H), headers=hospital(H))
        assert r.status_code == 201, r.text
        stay.clear()
        stay.update(r.json())

    await admit()
    person_ref = stay["person_ref"]
    for kind, a, b in steps:
        if stay.get("state") == "settled" and kind in ("line", "refund", "settle"):
            await admit()
        if kind == "line":
            line_id = f"L{uuid.uuid4().hex[:8]}"
            r = await post(client, stay["stay_id"], line(line_id, format_fen(a), b))
            assert r.status_code == 201, r.text
            model.lines[line_id] = a
        elif kind == "refund" and model.lines:
            target = sorted(model.lines)[a % len(model.lines)]
            amount = max(1, model.lines[target] * b // 100)
            r = await post(client, stay["stay_id"], line(f"R{uuid.uuid4().hex[:8]}", format_fen(-amount),
                                                         refunds_line_id=target))
            if amount > model.lines[target]:  # a line already refunded in full: never below zero
                assert r.status_code == 422 and r.json()["errors"][0]["field"] == "lines.0.amount", r.text
                continue
            assert r.status_code == 201, r.text
            model.lines[target] -= amount
        elif kind == "settle":
            r = await settle(client, stay["stay_id"])
            billed = sum(model.lines.values())
            if billed == 0:
                assert r.status_code == 422, r.text
                continue
            assert r.status_code == 201, r.text
            body = r.json()
            conserved(body)
            assert parse_yuan(body["total"]) == billed
            bill = repr(sorted(model.lines.items()))
            if bill in model.reversed_bills and model.reversed_bills[bill][1] == repr(model.accumulators()):
                assert [(f["payer"], f["amount"]) for f in body["funds"]] == model.reversed_bills[bill][0]
            body["bill"], body["lines"], body["acc_before"] = bill, dict(model.lines), repr(model.accumulators())
            model.standing.append(body)
            model.lines = {}
            stay["state"] = "settled"
        elif kind == "reverse" and model.standing:
            if len(model.standing) > 1:  # an earlier one: refused, naming the later ones
                r = await client.post(f"/v1/settlements/{model.standing[0]['settlement_id']}/reversal",
                                      json={"reason": "模型"}, headers=hospital(H))
                assert r.status_code == 409, r.text
                assert r.json()["later_settlement_ids"] == [s["settlement_id"] for s in model.standing[1:]]
            latest = model.standing[-1]
            r = await client.post(f"/v1/settlements/{latest['settlement_id']}/reversal", json={"reason": "模型"},
                                  headers=hospital(H))
            if latest["stay_id"] != stay["stay_id"] and stay.get("state") != "settled":
                # the person has another open stay at this hospital: the reversed stay cannot reopen
                assert r.status_code == 409, r.text
                continue
            assert r.status_code == 201, r.text
            assert parse_yuan(r.json()["total"]) == -parse_yuan(latest["total"])
            model.standing.pop()
            model.reversed_bills[latest["bill"]] = ([(f["payer"], f["amount"]) for f in latest["funds"]],
                                                    latest["acc_before"])
            seen = await client.get(f"/v1/stays/{latest['stay_id']}", headers=bearer("hospital", hospital_code=H))
            stay.clear()
            stay.update(seen.json())
            model.lines = dict(latest["lines"])
        stored = await accumulators(app, person_ref)
        assert Accumulators.model_validate(stored[0] if stored else {}) == model.accumulators()

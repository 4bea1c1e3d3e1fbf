"""GET /v1/reconciliation and POST /v1/reconciliations over HTTP: clearing's postings (real events, real
PostgreSQL and NATS) against the ledger's settlements list, as of a cut-off, with detail only where totals
differ; recorded runs and their differences' states; scopes; bad input."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from clearing_helpers import HOSPITAL, count_transfers, finalized, ledger_stream, reversal_of, rows
from ledger_standin import item, ledger_app

from onestop.clearing.app import create_app
from onestop.clearing.reconciliation.service import SHANGHAI
from onestop.common.testing import bearer, eventually, running
from onestop.contracts.events.base import Envelope
from onestop.contracts.settlement_list import SettlementItem

OPS = bearer("operator")


@pytest.fixture
def own_nats(nats_factory):  # type: ignore[no-untyped-def]
    return nats_factory().url


@asynccontextmanager
async def clearing_with(settings_for: Any, database: str, nats_url: str,
                        held: list[SettlementItem], **extra: Any,
                        ) -> AsyncIterator[tuple[Any, httpx.AsyncClient, list[Any]]]:
    calls: list[dict[str, str]] = []
    settings = settings_for("clearing", database_name=database, nats=nats_url, consumer_retry_max_s=0.5,
                            reconciliation_lag_s=0, **extra)
    app = create_app(settings, ledger_transport=httpx.ASGITransport(ledger_app(held, calls)))
    async with running(app) as client:
        yield app, client, calls


async def _posted(app: Any, n: int) -> None:
    async def done() -> bool:
        return await count_transfers(app) == n
    await eventually(done)


def _group(body: dict[str, Any], payer: str) -> dict[str, Any]:
    return next(g for g in body["groups"] if g["payer"] == payer)


async def test_equal_books_and_the_three_kinds_of_difference(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 600_00, "critical_illness": 100_00})
    b = finalized({"basic": 50_00})
    rb = reversal_of(b)
    held = [item(a), item(b), item(rb)]
    async with ledger_stream(own_nats) as ledger, clearing_with(
            settings_for, make_database("clearing"), own_nats, held) as (app, client, calls):
        for e in (a, b, rb):
            await ledger.publish(e)
        await _posted(app, 4)
        r = await client.get("/v1/reconciliation", params={"period": "2026-03"}, headers=OPS)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["equal"] and body["mismatches"] == []
        assert _group(body, "basic") == {"hospital_code": HOSPITAL, "payer": "basic", "region_code": "150222",
                                         "period": "2026-03", "equal": True,
                                         "ledger": {"count": 3, "amount": "600.00"},
                                         "clearing": {"count": 3, "amount": "600.00"}}
        assert calls[-1]["period"] == "2026-03"  # asked of the ledger, with clearing's service token

        # the ledger holds a settlement whose event never reached clearing (parked, lost …): named in detail
        c = finalized({"basic": 30_00})
        held.append(item(c))
        # clearing posted one the ledger does not list, and the ledger says another amount for `a`'s basic leg
        d = finalized({"critical_illness": 5_00})
        await ledger.publish(d)
        await _posted(app, 5)
        held[0] = item(a, funds={"basic": 601_00, "critical_illness": 100_00})
        body = (await client.get("/v1/reconciliation", headers=OPS)).json()
        assert not body["equal"]
        basic = _group(body, "basic")
        assert basic["ledger"] == {"count": 4, "amount": "631.00"} and basic["clearing"]["amount"] == "600.00"
        kinds = {(m["settlement_id"], m["kind"]): (m["ledger_amount"], m["clearing_amount"])
                 for m in body["mismatches"]}
        assert kinds == {(a.settlement_id, "amount"): ("601.00", "600.00"),
                         (c.settlement_id, "missing_in_clearing"): ("30.00", None),
                         (d.settlement_id, "missing_in_ledger"): (None, "5.00")}
        # critical_illness of March is equal (no detail of it); d sits in the month clearing saw it settled
        march = [g for g in body["groups"] if g["payer"] == "critical_illness" and g["period"] == "2026-03"]
        assert march[0]["equal"] and march[0]["clearing"] == {"count": 1, "amount": "100.00"}
        assert {g["period"] for g in body["groups"] if not g["equal"] and g["payer"] == "critical_illness"} == {
            d.settled_at.astimezone(SHANGHAI).strftime("%Y-%m")}
        assert all(m["settlement_id"] != rb.settlement_id for m in body["mismatches"])


async def test_a_parked_event_is_named_missing_in_clearing(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    ok, parked = finalized({"basic": 10_00}), finalized({"basic": 40_00})
    async with ledger_stream(own_nats) as ledger, clearing_with(
            settings_for, make_database("clearing"), own_nats, [item(ok), item(parked)],
            consumer_park_after=2) as (app, client, _):
        await ledger.publish(ok)
        env = Envelope.wrap(parked, source="/onestop/ledger", time=datetime.now(UTC)).model_dump(mode="json")
        await ledger.publish_raw(parked.nats_subject(), {**env, "type": "ledger.settlement.finalized.v9"})

        async def is_parked() -> bool:
            return len(await rows(app, "SELECT id FROM parked_event WHERE state = 'parked'")) == 1

        await eventually(is_parked, timeout=30)
        assert await count_transfers(app) == 1
        body = (await client.get("/v1/reconciliation", headers=OPS)).json()
        assert [(m["settlement_id"], m["kind"], m["ledger_amount"], m["clearing_amount"])
                for m in body["mismatches"]] == [(parked.settlement_id, "missing_in_clearing", "40.00", None)]
        assert body["groups"][0]["ledger"] == {"count": 2, "amount": "50.00"}
        assert body["groups"][0]["clearing"] == {"count": 1, "amount": "10.00"}


async def test_the_cutoff_leaves_out_what_is_in_flight(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 100_00})
    held = [item(a)]
    async with ledger_stream(own_nats) as ledger, clearing_with(
            settings_for, make_database("clearing"), own_nats, held) as (app, client, _):
        await ledger.publish(a)
        await _posted(app, 1)
        # committed by the ledger, its event not yet posted: after the cut-off it is no difference
        late = finalized({"basic": 9_00}).model_copy(update={"settled_at": datetime.now(UTC) + timedelta(seconds=1)})
        held.append(item(late))
        at = (datetime.now(UTC) - timedelta(milliseconds=1)).isoformat()
        body = (await client.get("/v1/reconciliation", params={"cutoff": at}, headers=OPS)).json()
        assert body["equal"] and body["groups"][0]["ledger"] == {"count": 1, "amount": "100.00"}, body
        # a cut-off before `a` was settled counts neither side of it
        early = (a.settled_at - timedelta(seconds=1)).isoformat()
        body = (await client.get("/v1/reconciliation", params={"cutoff": early}, headers=OPS)).json()
        assert body["equal"] and body["groups"] == []
        # once the in-flight one's time has passed it is missing in clearing until posted
        await eventually(lambda: _past(late.settled_at), timeout=5)
        body = (await client.get("/v1/reconciliation", headers=OPS)).json()
        assert [m["kind"] for m in body["mismatches"]] == ["missing_in_clearing"]
        await ledger.publish(late)
        await _posted(app, 2)
        assert (await client.get("/v1/reconciliation", headers=OPS)).json()["equal"]


async def _past(t: datetime) -> bool:
    return datetime.now(UTC) > t


async def test_a_run_is_recorded_and_its_differences_move_on(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 100_00})
    missing = finalized({"basic": 20_00})
    held = [item(a), item(missing)]
    async with ledger_stream(own_nats) as ledger, clearing_with(
            settings_for, make_database("clearing"), own_nats, held) as (app, client, _):
        await ledger.publish(a)
        await _posted(app, 1)
        payer = bearer("payer", payer="basic", region_code="150222")
        key = {"Idempotency-Key": str(uuid.uuid4())}
        r = await client.post("/v1/reconciliations", json={"period": "2026-03"}, headers={**payer, **key})
        assert r.status_code == 201, r.text
        run = r.json()
        assert run["payer"] == "basic" and run["region_code"] == "150222"
        assert [(m["n"], m["settlement_id"], m["kind"], m["state"]) for m in run["mismatches"]] == [
            (1, missing.settlement_id, "missing_in_clearing", "open")]
        again = await client.post("/v1/reconciliations", json={"period": "2026-03"}, headers={**payer, **key})
        assert again.status_code == 201 and again.json()["id"] == run["id"]  # the same key replays
        url = f"/v1/reconciliations/{run['id']}/differences/1"

        async def move(headers: dict[str, str], state: str) -> httpx.Response:
            return await client.post(url, json={"state": state, "note": "事件停放, 已重试"},
                                     headers={**headers, "Idempotency-Key": str(uuid.uuid4())})

        hosp = bearer("hospital", hospital_code=HOSPITAL)
        assert (await client.get(f"/v1/reconciliations/{run['id']}", headers=hosp)).status_code == 404
        other_fund = bearer("payer", payer="critical_illness", region_code="150222")
        assert (await move(other_fund, "explained")).status_code == 404
        r = await move(payer, "explained")
        assert r.status_code == 200 and r.json()["state"] == "explained", r.text
        assert (await move(payer, "explained")).status_code == 409
        assert (await move(OPS, "fixed")).json()["state"] == "fixed"
        assert (await move(OPS, "fixed")).status_code == 409
        stored = (await client.get(f"/v1/reconciliations/{run['id']}", headers=OPS)).json()
        assert stored["mismatches"][0]["state"] == "fixed" and stored["mismatches"][0]["note"]
        bad = await client.post(url, json={"state": "open", "note": "x"},
                                headers={**OPS, "Idempotency-Key": str(uuid.uuid4())})
        assert bad.status_code == 422 and "state" in bad.text
        assert (await client.get(f"/v1/reconciliations/{uuid.uuid4()}", headers=OPS)).status_code == 404


async def test_scopes_and_bad_input(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    a = finalized({"basic": 100_00, "critical_illness": 10_00})
    other = finalized({"basic": 7_00}, hospital="H410000001", region="410000")
    held = [item(a), item(other)]
    async with ledger_stream(own_nats) as ledger, clearing_with(
            settings_for, make_database("clearing"), own_nats, held) as (app, client, calls):
        for e in (a, other):
            await ledger.publish(e)
        await _posted(app, 3)

        async def get(headers: dict[str, str], **params: str) -> httpx.Response:
            return await client.get("/v1/reconciliation", params=params, headers=headers)

        hosp = bearer("hospital", hospital_code=HOSPITAL)
        body = (await get(hosp)).json()
        assert {g["hospital_code"] for g in body["groups"]} == {HOSPITAL} and calls[-1]["hospital_code"] == HOSPITAL
        assert (await get(hosp, hospital_code="H410000001")).status_code == 403
        fund = bearer("payer", payer="basic", region_code="150222")
        body = (await get(fund)).json()
        assert [(g["payer"], g["region_code"]) for g in body["groups"]] == [("basic", "150222")] and body["equal"]
        assert (await get(fund, payer="critical_illness")).status_code == 403
        bureau = bearer("bureau", region_code="150000")
        assert {g["region_code"] for g in (await get(bureau)).json()["groups"]} == {"150222"}
        assert (await get(bureau, region_code="410000")).status_code == 403
        assert (await get(bearer("bureau", region_code="410000"))).json()["equal"]
        for bad, field in (({"period": "2026-13"}, "period"), ({"region_code": "15022"}, "region_code"),
                           ({"cutoff": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "cutoff"),
                           ({"cutoff": "yesterday"}, "cutoff")):
            r = await get(OPS, **bad)
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
            assert field in r.text
        r = await client.post("/v1/reconciliations", json={"period": "March"},
                              headers={**OPS, "Idempotency-Key": str(uuid.uuid4())})
        assert r.status_code == 422 and "period" in r.text
        assert (await client.get("/v1/reconciliation")).status_code == 401

"""Posting workers on a real PostgreSQL and nats-server: each leg posted exactly once (redelivery, restarts, two
replicas, a crash between commit and ack, a dedicated group beside the catch-all), reversals net, what cannot
be applied is parked, `hosp_part_amt` posts nothing, and the invariants over HTTP (issue 14 points 1-3)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from clearing_helpers import (
    HOSPITAL,
    balances,
    clearing,
    count_transfers,
    finalized,
    ledger_stream,
    reversal_of,
    rows,
    service_bearer,
    transfers,
    worker,
)

from onestop.clearing.domain.accounts import AccountKey, Code, Fund
from onestop.clearing.domain.transfers import Kind, Transfer
from onestop.clearing.store import books as store_books
from onestop.common import consumer as common_consumer
from onestop.common.testing import bearer, eventually
from onestop.contracts.events.base import Envelope


@pytest.fixture
def own_nats(nats_factory):  # type: ignore[no-untyped-def]
    return nats_factory().url  # durables are named by group: no other test's on this server


async def test_each_leg_posted_once_under_redelivery_and_restart(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    db = make_database("clearing")
    s = finalized({"basic": 700_00, "critical_illness": 200_00}, hosp_part=50_00)
    async with ledger_stream(own_nats) as ledger:
        async with clearing(settings_for, db, own_nats) as (app, client):
            env = await ledger.publish(s)
            await ledger.publish_envelope(env, s.nats_subject(), dedupe=False)  # the same event, delivered again

            async def posted() -> bool:
                return await count_transfers(app) == 2 and (await worker(app).lag()) == 0

            await eventually(posted)
            r = await client.get("/v1/invariants", headers=bearer("operator"))
            assert r.status_code == 200 and r.json()["ok"], r.json()
            assert (await client.get("/v1/invariants", headers=bearer("hospital", hospital_code=HOSPITAL))
                    ).status_code == 403
        while_down = finalized({"basic": 3_00})  # settled while the group had no worker running
        await ledger.publish(while_down)
        async with clearing(settings_for, db, own_nats) as (app, client):  # a restart, and the event a third time
            await ledger.publish_envelope(env, s.nats_subject(), dedupe=False)
            await eventually(lambda: _count_is(app, 3))
            await eventually(lambda: _idle(app))
            assert await count_transfers(app) == 3
            books = await balances(app)
    assert books == {(HOSPITAL, "basic", "advance"): 703_00, (HOSPITAL, "basic", "fund_payable"): -703_00,
                     (HOSPITAL, "critical_illness", "advance"): 200_00,
                     (HOSPITAL, "critical_illness", "fund_payable"): -200_00}  # hosp_part_amt: no fund's, nothing


async def _idle(app) -> bool:  # type: ignore[no-untyped-def]
    return (await worker(app).lag()) == 0


async def test_settled_at_and_posting_time_are_stored(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    s = finalized({"basic": 1_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, _):
        await ledger.publish(s)
        await eventually(lambda: _count_is(app, 1))
        (t,) = await transfers(app)
    assert t.settled_at == s.settled_at and t.settled_at <= t.posted_at <= datetime.now(UTC)
    assert (t.debit_code, t.credit_code, t.amount, t.settlement_id) == ("advance", "fund_payable", 1_00,
                                                                       s.settlement_id)


async def _count_is(app, n: int) -> bool:  # type: ignore[no-untyped-def]
    return await count_transfers(app) == n


async def test_two_replicas_of_a_group_post_each_leg_once(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    db = make_database("clearing")
    events = [finalized({"basic": (i + 1) * 1_00, "gap_fill": 5_00}) for i in range(120)]
    async with ledger_stream(own_nats) as ledger, \
            clearing(settings_for, db, own_nats, payer="basic", posting_batch=10) as (a, _), \
            clearing(settings_for, db, own_nats, payer="basic", posting_batch=10) as (b, client):
        assert worker(a).durable == worker(b).durable == "clearing-postings-basic"
        await asyncio.gather(*(ledger.publish(e) for e in events))
        await eventually(lambda: _count_is(a, 120), timeout=60)
        await eventually(lambda: _idle(b))
        assert await count_transfers(a) == 120  # only basic's legs: gap_fill is the catch-all's
        books = await balances(a)
        metrics = (await client.get("/metrics")).text
        lag = [line for line in metrics.splitlines()
               if line.startswith('onestop_clearing_posting_lag_seconds_count{group="basic"}')]
        assert lag and float(lag[0].split()[-1]) > 0  # settlement commit -> posting commit, observed per event
        assert worker(a).batches_posted + worker(b).batches_posted >= 1  # batches went in one transaction each
        r = await client.get("/v1/invariants", headers=service_bearer())
    assert books[(HOSPITAL, "basic", "advance")] == sum((i + 1) * 1_00 for i in range(120))
    assert r.json()["ok"]


async def test_killed_between_commit_and_ack_is_redelivered_and_posts_nothing_twice(  # type: ignore[no-untyped-def]
        settings_for, make_database, own_nats, monkeypatch) -> None:
    monkeypatch.setattr(common_consumer, "ACK_WAIT_S", 2.0)  # redelivery within the test, not after a minute
    db = make_database("clearing")
    events = [finalized({"basic": 3_00, "critical_illness": 4_00}) for _ in range(5)]
    async with ledger_stream(own_nats) as ledger:
        async with clearing(settings_for, db, own_nats) as (app, _):
            w = worker(app)

            async def never_ack(msgs) -> None:  # type: ignore[no-untyped-def]
                return None  # the process dies right after its commit

            w._ack = never_ack
            w._settle_single = never_ack
            for e in events:
                await ledger.publish(e)
            await eventually(lambda: _count_is(app, 10))
            info = await ledger.js.consumer_info("ONESTOP_LEDGER", w.durable)
            assert info.num_ack_pending == 5  # committed, never acked
        async with clearing(settings_for, db, own_nats) as (app, client):
            async def all_acked() -> bool:
                i = await ledger.js.consumer_info("ONESTOP_LEDGER", worker(app).durable)
                return i.num_ack_pending == 0 and i.num_pending == 0  # redelivered here, and acked

            await eventually(all_acked, timeout=30)
            assert await count_transfers(app) == 10
            assert (await client.get("/v1/invariants", headers=bearer("operator"))).json()["ok"]


async def test_a_dedicated_group_and_the_catch_all_post_each_leg_once(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    db = make_database("clearing")
    first = [finalized({"basic": 1_00, "critical_illness": 2_00, "charity": 3_00}) for _ in range(10)]
    later = [finalized({"basic": 10_00, "critical_illness": 20_00, "charity": 30_00}) for _ in range(10)]
    async with ledger_stream(own_nats) as ledger:
        async with clearing(settings_for, db, own_nats) as (catch_all, _):
            for e in first:  # before any dedicated group: the catch-all posts every payer
                await ledger.publish(e)
            await eventually(lambda: _count_is(catch_all, 30))
            # basic and critical_illness get their own group; it replays the stream from its start
            async with clearing(settings_for, db, own_nats, payer="critical_illness,basic") as (dedicated, _):
                assert worker(dedicated).durable == "clearing-postings-basic-critical_illness"
                for e in later:
                    await ledger.publish(e)
                await eventually(lambda: _count_is(catch_all, 60))
                await eventually(lambda: _idle(dedicated))
                await eventually(lambda: _idle(catch_all))
                books = await balances(catch_all)
                inbox = {r.consumer: r.n for r in await rows(
                    catch_all, "SELECT consumer, count(*) AS n FROM inbox GROUP BY consumer")}
            with pytest.raises(Exception, match="another worker group"):  # a payer in two groups refuses to start
                async with clearing(settings_for, db, own_nats, payer="basic"):
                    pass
    assert await_count(books) == {"basic": 110_00, "critical_illness": 220_00, "charity": 330_00}
    assert inbox == {"clearing-postings-catch-all": 20, "clearing-postings-basic-critical_illness": 20}


def await_count(books: dict[tuple[str, str, str], int]) -> dict[str, int]:
    return {payer: v for (_h, payer, code), v in books.items() if code == "advance"}


async def test_a_reversal_nets_each_leg(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    s = finalized({"basic": 500_00, "assistance": 80_00})
    kept = finalized({"basic": 7_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        await ledger.publish(s)
        await ledger.publish(kept)
        await ledger.publish(reversal_of(s))
        await eventually(lambda: _count_is(app, 5))
        books = await balances(app)
        ts = await transfers(app)
        assert (await client.get("/v1/invariants", headers=bearer("operator"))).json()["ok"]
    assert books[(HOSPITAL, "basic", "advance")] == 7_00 and books[(HOSPITAL, "assistance", "advance")] == 0
    assert books[(HOSPITAL, "basic", "fund_payable")] == -7_00
    originals = {t.id: t for t in ts if t.code == "advance"}
    corrections = [t for t in ts if t.code == "reversal"]
    assert len(corrections) == 2 and all(
        originals[t.corrects_id].amount == t.amount and originals[t.corrects_id].settlement_id == s.settlement_id
        and (t.debit_code, t.credit_code) == ("fund_payable", "advance") for t in corrections)


async def test_what_cannot_be_applied_is_parked_and_the_rest_goes_on(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    bad_fund = finalized({"Basic Fund!": 10_00})  # not a payer id: no account can be named for it
    orphan = reversal_of(finalized({"basic": 9_00}))  # its original was never published
    good = finalized({"basic": 4_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats,
                                                           consumer_park_after=2) as (app, client):
        for e in (bad_fund, orphan, good):
            await ledger.publish(e)
        unknown_version = Envelope.wrap(good, source="/onestop/ledger", time=datetime.now(UTC))
        await ledger.publish_raw(good.nats_subject(), {**unknown_version.model_dump(mode="json"),
                                                       "id": str(uuid.uuid4()),
                                                       "type": "ledger.settlement.finalized.v9"})

        async def three_parked() -> bool:
            return len(await rows(app, "SELECT id FROM parked_event WHERE state = 'parked'")) == 3

        await eventually(three_parked, timeout=30)
        await eventually(lambda: _count_is(app, 1))
        await ledger.publish(reversal_of(bad_fund))  # its original is parked: it waits behind it, in order

        async def waits() -> bool:
            return [r.state for r in await rows(app, "SELECT state FROM parked_event WHERE aggregate = :a "
                                                     "ORDER BY id", a=bad_fund.settlement_id)] == ["parked", "waiting"]

        await eventually(waits)
        r = await client.get("/v1/parked-events", headers=bearer("operator"))
        assert r.status_code == 200, r.text
        reasons = sorted(p["reason"] for p in r.json()["items"])
        assert (await client.get("/v1/invariants", headers=bearer("operator"))).json()["ok"]
    assert any("payer must be a lower-case identifier" in x for x in reasons)
    assert any("never posted" in x for x in reasons)
    assert any("finalized.v9" in x for x in reasons)
    assert all("Basic Fund" not in x for x in reasons)  # the reason is ours, no payload value


async def test_a_reversal_of_a_claimed_leg_is_owed_back(settings_for, make_database, own_nats) -> None:  # type: ignore[no-untyped-def]
    """Point 4, ahead of claims: a leg already in a claim is not taken out of `advance` (it is no longer there)
    but owed back to the fund, to be netted in the hospital's next claim."""
    s = finalized({"basic": 300_00, "assistance": 20_00})
    async with ledger_stream(own_nats) as ledger, clearing(settings_for, make_database("clearing"), own_nats) as (
            app, client):
        await ledger.publish(s)
        await eventually(lambda: _count_is(app, 2))
        fund = Fund("basic", "150222")
        claim = Transfer(uuid.uuid4(), AccountKey(HOSPITAL, fund, Code.claimed),
                         AccountKey(HOSPITAL, fund, Code.advance), 300_00, "claim", Kind.pending,
                         settlement_id=s.settlement_id)  # as claims will post it
        async with app.state.runtime.db.transaction() as session:
            await store_books.post(session, [claim])
        await ledger.publish(reversal_of(s))
        await eventually(lambda: _count_is(app, 5))
        corrections = {t.payer: (t.debit_code, t.credit_code) for t in await transfers(app) if t.code == "reversal"}
        books = await balances(app)
        assert (await client.get("/v1/invariants", headers=bearer("operator"))).json()["ok"]
    assert corrections == {"basic": ("fund_payable", "owed_back"), "assistance": ("fund_payable", "advance")}
    assert books[(HOSPITAL, "basic", "owed_back")] == -300_00 and books[(HOSPITAL, "assistance", "advance")] == 0

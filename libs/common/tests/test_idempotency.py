"""Idempotency claims on a real PostgreSQL: a slow step (a quote) runs outside any transaction, between a
short claim and the one transaction that stores the answer with the effects (issue 12 point 6)."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from onestop.common.auth import Principal
from onestop.common.clock import now
from onestop.common.db import Database
from onestop.common.errors import IdempotencyKeyInFlight, IdempotencyKeyRequired, IdempotencyKeyReused
from onestop.common.idempotency import IN_FLIGHT, Idempotency
from onestop.contracts.enums import Role
from onestop.ledger.store.tables import metadata

OP = Principal(subject="operator:t", role=Role.operator)
KEYS = metadata.tables["idempotency_key"]


@pytest.fixture
async def observer(pg_server: str, db: Database):  # type: ignore[no-untyped-def]
    """A second, independent engine on the same database: what another process would see."""
    other = Database(db.url, pool_size=1)
    yield other
    await other.dispose()


async def _row(observer: Database, key: str):  # type: ignore[no-untyped-def]
    async with observer.transaction() as s:
        return (await s.execute(select(KEYS.c.request_hash, KEYS.c.status_code, KEYS.c.response)
                                .where(KEYS.c.subject == OP.subject, KEYS.c.key == key))).first()


async def _open_transactions(observer: Database) -> int:
    """Backends of this database, other than the observer's own, holding a transaction open while idle."""
    async with observer.transaction() as s:
        return (await s.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"))).scalar_one()


def _recording(effects: list[str], name: str):  # type: ignore[no-untyped-def]
    async def work(session):  # type: ignore[no-untyped-def]
        effects.append(name)
        return 201, {"done": name}
    return work


async def test_the_slow_step_runs_outside_any_transaction_with_the_claim_visible(db, observer) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(db, metadata)
    effects: list[str] = []
    seen: dict[str, object] = {}
    async with idem.claim(OP, "k1", "h1") as claim:
        assert claim.stored is None
        # the slow step: another connection sees the key in flight, and this request holds no transaction
        row = await _row(observer, "k1")
        seen["status"], seen["open"] = row.status_code, await _open_transactions(observer)
        with pytest.raises(IdempotencyKeyInFlight):
            async with idem.claim(OP, "k1", "h1"):
                pass
        with pytest.raises(IdempotencyKeyInFlight):  # the one-transaction API respects the claim too
            await idem.run(OP, "k1", "h1", _recording(effects, "run"))
        with pytest.raises(IdempotencyKeyReused):
            async with idem.claim(OP, "k1", "other body"):
                pass
        answer = await claim.commit(_recording(effects, "claim"))
    assert seen == {"status": IN_FLIGHT, "open": 0}

    async def inside(session):  # type: ignore[no-untyped-def]
        seen["open in run"] = await _open_transactions(observer)  # the measure sees run()'s transaction
        return 201, {}
    await idem.run(OP, "k0", "h", inside)
    assert seen["open in run"] == 1
    assert answer.status_code == 201 and effects == ["claim"]
    row = await _row(observer, "k1")
    assert (row.status_code, row.response) == (201, {"done": "claim"})

    async with idem.claim(OP, "k1", "h1") as again:  # finished: the stored answer, nothing runs
        assert again.stored is not None and again.stored.body == answer.body
        assert again.stored.headers["Idempotent-Replayed"] == "true"
    with pytest.raises(IdempotencyKeyReused):
        async with idem.claim(OP, "k1", "h2"):
            pass
    assert (await idem.run(OP, "k1", "h1", _recording(effects, "run"))).body == answer.body
    assert effects == ["claim"]
    with pytest.raises(IdempotencyKeyRequired):
        async with idem.claim(OP, " ", "h1"):
            pass


async def test_concurrent_same_key_requests_run_the_work_once(db) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(db, metadata)
    effects: list[str] = []
    quote = asyncio.Event()

    async def request(name: str):  # type: ignore[no-untyped-def]
        async with idem.claim(OP, "k2", "h") as claim:
            if claim.stored is not None:
                return claim.stored
            await quote.wait()  # the slow quote
            return await claim.commit(_recording(effects, name))

    first = asyncio.create_task(request("a"))
    await asyncio.sleep(0.2)
    second = asyncio.create_task(request("b"))
    await asyncio.sleep(0.2)
    quote.set()
    results = await asyncio.gather(first, second, return_exceptions=True)
    assert results[0].status_code == 201 and isinstance(results[1], IdempotencyKeyInFlight)
    assert effects == ["a"]
    replay = await request("c")
    assert replay.body == results[0].body and effects == ["a"]

    quote.clear()

    async def fresh(name: str):  # type: ignore[no-untyped-def]
        async with idem.claim(OP, "k2b", "h") as claim:
            if claim.stored is not None:  # came after the other had finished: its answer
                return claim.stored
            await asyncio.wait_for(quote.wait(), 0.5)
            return await claim.commit(_recording(effects, name))

    both = await asyncio.gather(fresh("d"), fresh("e"), return_exceptions=True)  # a fresh key, the same instant
    assert sorted(type(r).__name__ for r in both) == ["IdempotencyKeyInFlight", "TimeoutError"]
    quote.set()
    both = await asyncio.gather(fresh("f"), fresh("g"), return_exceptions=True)
    # the second either met the claim (in flight) or came after the first finished (its replayed answer):
    # which one is up to the scheduler, but the work ran once either way
    assert effects == ["a", effects[-1]] and effects[-1] in ("f", "g")
    ran, other = (both[0], both[1]) if effects[-1] == "f" else (both[1], both[0])
    assert ran.status_code == 201
    assert isinstance(other, IdempotencyKeyInFlight) or (other.body == ran.body
                                                         and other.headers["Idempotent-Replayed"] == "true")


async def test_a_failure_releases_the_claim_so_a_retry_runs(db, observer) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(db, metadata)
    with pytest.raises(TimeoutError):  # the quote failed: nothing stored, the key is free
        async with idem.claim(OP, "k3", "h"):
            raise TimeoutError("rules did not answer")
    assert await _row(observer, "k3") is None

    async def failing(session):  # type: ignore[no-untyped-def]
        await session.execute(update(KEYS).values(status_code=599))  # an effect that must roll back
        raise ValueError("the unit of work failed")

    with pytest.raises(ValueError):
        async with idem.claim(OP, "k3", "h") as claim:
            await claim.commit(failing)
    assert await _row(observer, "k3") is None
    effects: list[str] = []
    async with idem.claim(OP, "k3", "h") as claim:
        assert (await claim.commit(_recording(effects, "retry"))).status_code == 201
    assert effects == ["retry"]


async def test_a_release_that_cannot_reach_the_database_keeps_the_first_error(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(db, metadata)

    async def database_gone(held):  # type: ignore[no-untyped-def]
        raise ConnectionError("database unavailable")

    monkeypatch.setattr(idem, "_release", database_gone)
    with pytest.raises(TimeoutError):  # the caller's error, not the release's: the claim simply expires
        async with idem.claim(OP, "k3b", "h"):
            raise TimeoutError("rules did not answer")


async def test_an_expired_claim_of_a_dead_process_is_taken_over(db, observer) -> None:  # type: ignore[no-untyped-def]
    idem = Idempotency(db, metadata, claim_ttl_s=60)
    effects: list[str] = []
    stale = idem.claim(OP, "k4", "h-old")
    dead = await stale.__aenter__()  # a process that claimed the key and died (never leaves the block)
    with pytest.raises(IdempotencyKeyInFlight):
        async with idem.claim(OP, "k4", "h-old"):
            pass
    async with observer.transaction() as s:  # the claim is older than the 60 s it may live
        await s.execute(update(KEYS).where(KEYS.c.key == "k4").values(created_at=now() - timedelta(seconds=61)))
    async with idem.claim(OP, "k4", "h-new") as claim:  # a retry, even with another body, takes it over
        assert claim.stored is None
        await claim.commit(_recording(effects, "new"))
    with pytest.raises(IdempotencyKeyInFlight):  # the old holder, if alive after all, cannot store a second answer
        await dead.commit(_recording(effects, "old"))
    assert effects == ["new"]
    row = await _row(observer, "k4")
    assert (row.request_hash, row.response) == ("h-new", {"done": "new"})

    assert (await idem.run(OP, "k5", "h", _recording(effects, "x"))).status_code == 201
    async with observer.transaction() as s:  # an expired claim also frees the key for the one-transaction API
        await s.execute(update(KEYS).where(KEYS.c.key == "k5").values(status_code=IN_FLIGHT, response={"claim": "gone"},
                                                                       created_at=now() - timedelta(seconds=61)))
    assert (await idem.run(OP, "k5", "h", _recording(effects, "y"))).status_code == 201
    assert effects == ["new", "x", "y"]

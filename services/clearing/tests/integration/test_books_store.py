"""The books' SQL on a real PostgreSQL: a replayed or duplicated transfer moves nothing twice, the limits are
constraints the database enforces (nothing half-posted), a pending is resolved once, transfers are immutable,
and the invariants see a balance written around the postings."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from onestop.clearing.domain.accounts import AccountKey, Code, Fund
from onestop.clearing.domain.invariants import checks
from onestop.clearing.domain.transfers import Kind, Transfer, post_pending, void_pending
from onestop.clearing.store import books
from onestop.common.db import Database

FUND = Fund("basic", "150222")


def k(code: Code) -> AccountKey:
    return AccountKey("H1", FUND, code)


def advance(amount: int) -> Transfer:
    return Transfer(uuid.uuid4(), k(Code.advance), k(Code.fund_payable), amount, "advance")


@pytest.fixture
async def db(settings_for) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    database = Database(settings_for("clearing").service_database_url())
    yield database
    await database.dispose()


async def balance(db: Database, code: Code) -> tuple[int, int, int, int]:
    async with db.transaction() as s:
        r = (await s.execute(text("SELECT * FROM account WHERE id = :i"), {"i": k(code).id})).one()
    return int(r.debits_pending), int(r.debits_posted), int(r.credits_pending), int(r.credits_posted)


async def verdicts(db: Database) -> set[str]:
    async with db.transaction() as s:
        return {c.name for c in checks(await books.totals(s)) if not c.ok}


async def test_a_replay_or_a_duplicate_moves_nothing_twice(db: Database) -> None:
    t = advance(100_00)
    async with db.transaction() as s:
        assert await books.post(s, [t, t]) == 1
    async with db.transaction() as s:
        assert await books.post(s, [t]) == 0
    assert await balance(db, Code.advance) == (0, 100_00, 0, 0)
    assert await verdicts(db) == set()


async def test_a_limit_is_a_constraint_and_nothing_is_half_posted(db: Database) -> None:
    async with db.transaction() as s:
        await books.post(s, [advance(50_00)])
    over = [advance(1_00), Transfer(uuid.uuid4(), k(Code.claimed), k(Code.advance), 52_00, "claim", Kind.pending)]
    with pytest.raises(IntegrityError, match="credits_within_debits"):
        async with db.transaction() as s:
            await books.post(s, over)
    assert await balance(db, Code.advance) == (0, 50_00, 0, 0)  # the advance of the same call went too
    pay = Transfer(uuid.uuid4(), k(Code.fund_payable), k(Code.approved), 1, "disbursement")
    with pytest.raises(IntegrityError, match="credits_within_debits"):  # nothing approved, nothing to pay
        async with db.transaction() as s:
            await books.post(s, [pay])


async def test_a_pending_resolves_once_and_balances_follow(db: Database) -> None:
    claim = Transfer(uuid.uuid4(), k(Code.claimed), k(Code.advance), 80_00, "claim", Kind.pending)
    async with db.transaction() as s:
        await books.post(s, [advance(80_00), claim])
    assert await balance(db, Code.advance) == (0, 80_00, 80_00, 0)
    decided = post_pending(claim, transfer_id=uuid.uuid4(), amount=60_00, rest_to=k(Code.rejected),
                           rest_id=uuid.uuid4(), reason="deduction")
    async with db.transaction() as s:
        await books.post(s, decided)
    assert await balance(db, Code.advance) == (0, 80_00, 0, 80_00)
    assert await balance(db, Code.rejected) == (0, 20_00, 0, 0)
    with pytest.raises(IntegrityError, match="uq_transfer_pending_id"):
        async with db.transaction() as s:
            await books.post(s, [void_pending(claim, transfer_id=uuid.uuid4())])
    assert await verdicts(db) == set()


async def test_transfers_are_immutable_and_drift_is_seen(db: Database) -> None:
    t = advance(10_00)
    async with db.transaction() as s:
        await books.post(s, [t])
    for sql in ("UPDATE transfer SET amount = 1 WHERE id = :i", "DELETE FROM transfer WHERE id = :i"):
        with pytest.raises(DBAPIError, match="immutable"):
            async with db.transaction() as s:
                await s.execute(text(sql), {"i": t.id})
    async with db.transaction() as s:  # a write around the postings
        await s.execute(text("UPDATE account SET debits_posted = debits_posted + 1 WHERE id = :i"),
                        {"i": k(Code.advance).id})
    assert await verdicts(db) == {"books_balanced", "balance_is_sum_of_postings"}

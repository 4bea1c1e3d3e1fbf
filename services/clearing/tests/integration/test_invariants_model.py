"""Random sequences (hypothesis) of settlements and reversals published to the real nats-server: after each, the
catch-all worker's books match a model (each fund's advance is the sum of its unreversed legs) and
`GET /v1/invariants` is ok."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from clearing_helpers import clearing, finalized, ledger_stream, reversal_of, rows
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onestop.common.testing import bearer, eventually

PAYERS = ["basic", "critical_illness", "assistance", "gap_fill", "charity"]
SETTLE = st.tuples(st.just("settle"), st.dictionaries(st.sampled_from(PAYERS), st.integers(0, 80_000_00),
                                                      min_size=1, max_size=5),
                   st.integers(0, 3_000_00), st.sampled_from(["150222", "410000"]))
REVERSE = st.tuples(st.just("reverse"), st.integers(0, 50), st.just(0), st.just(""))


@pytest.fixture(scope="module")
async def books(settings_for, make_database, nats_factory) -> AsyncIterator[tuple[Any, Any, Any]]:  # type: ignore[no-untyped-def]
    url = nats_factory().url
    async with ledger_stream(url) as ledger, clearing(settings_for, make_database("clearing"), url) as (app, client):
        yield ledger, app, client


@settings(max_examples=6, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.one_of(SETTLE, REVERSE), min_size=1, max_size=12))
async def test_books_match_the_model_and_balance(books, steps) -> None:  # type: ignore[no-untyped-def]
    ledger, app, client = books
    hospital = f"H{uuid.uuid4().hex[:10]}"  # this example's own accounts
    standing: list[Any] = []
    expected: dict[tuple[str, str], int] = defaultdict(int)  # (payer, region) -> advance balance
    transfers = 0
    for op, arg, hosp_part, region in steps:
        if op == "settle":
            s = finalized(arg, hospital=hospital, region=region, hosp_part=hosp_part)
            await ledger.publish(s)
            standing.append(s)
            for payer, amount in arg.items():
                expected[(payer, region)] += amount
                transfers += amount > 0
        elif standing:
            s = standing.pop(arg % len(standing))
            await ledger.publish(reversal_of(s))
            for f in s.funds:
                expected[(f.payer, s.region_code)] -= f.amount
                transfers += f.amount > 0

    async def caught_up() -> bool:
        n = await rows(app, "SELECT count(*) AS n FROM transfer WHERE hospital_code = :h", h=hospital)
        return int(n[0].n) == transfers

    await eventually(caught_up, timeout=60)
    got = {(r.payer, r.region_code): int(r.debits_posted) - int(r.credits_posted) for r in await rows(
        app, "SELECT * FROM account WHERE hospital_code = :h AND code = 'advance'", h=hospital)}
    assert got == {k: v for k, v in expected.items() if k in got} and all(
        v == 0 for k, v in expected.items() if k not in got)
    r = await client.get("/v1/invariants", headers=bearer("operator"))
    assert r.status_code == 200 and r.json()["ok"], r.json()

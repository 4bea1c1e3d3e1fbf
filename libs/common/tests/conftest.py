"""Fixtures of the shared library's tests."""

from __future__ import annotations

import pytest

from onestop.common.db import Database
from onestop.common.settings import ConnectionSettings


@pytest.fixture
async def db(pg_server: str, make_database):  # type: ignore[no-untyped-def]
    """A fresh, migrated ledger database: any service's has the platform tables these tests need."""
    name = make_database("ledger")
    database = Database(ConnectionSettings(service="ledger", DATABASE_URL=pg_server, database_name=name)
                        .service_database_url())
    yield database
    await database.dispose()

"""Alembic environment of the ledger service."""

from onestop.common.migrations import run_env
from onestop.ledger.store.tables import metadata

run_env(metadata)

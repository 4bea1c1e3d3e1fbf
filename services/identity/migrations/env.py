"""Alembic environment of the identity service."""

from onestop.common.migrations import run_env
from onestop.identity.store.tables import metadata

run_env(metadata)

"""Alembic environment of the rules service."""

from onestop.common.migrations import run_env
from onestop.rules.store.tables import metadata

run_env(metadata)

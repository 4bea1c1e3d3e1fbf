"""Alembic environment of the clearing service."""

from onestop.common.migrations import run_env
from onestop.clearing.store.tables import metadata

run_env(metadata)

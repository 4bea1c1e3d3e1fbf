"""Alembic environment of the clearing service."""

from onestop.clearing.store.tables import metadata
from onestop.common.migrations import run_env

run_env(metadata)

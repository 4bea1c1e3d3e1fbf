"""Migrate the rules service's database (used by `onestop migrate` and the test session)."""

from pathlib import Path

from onestop.common.migrations import upgrade as _upgrade

MIGRATIONS = Path(__file__).resolve().parents[4] / "migrations"


def upgrade(url: str) -> None:
    """alembic upgrade head on this service's own database."""
    _upgrade(MIGRATIONS, url)

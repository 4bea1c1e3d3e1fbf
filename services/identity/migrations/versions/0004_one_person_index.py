"""Statuses and enrolments keep one index on person_id (the partial "current" one duplicated it).

Every register row a first import writes paid for both; the full index serves the current rows
(`superseded_at IS NULL` is filtered from a person's few rows) and the history alike.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TABLES = ("person_status", "insurance_enrolment")


def upgrade() -> None:
    for table in _TABLES:
        op.drop_index(f"ix_{table}_current", table_name=table)


def downgrade() -> None:
    for table in _TABLES:
        op.create_index(f"ix_{table}_current", table, ["person_id"], postgresql_where=sa.text("superseded_at IS NULL"))

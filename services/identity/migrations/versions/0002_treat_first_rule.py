"""Treat-first rules received from rules' policy.published.

Revision ID: 0002
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "treat_first_rule",
        sa.Column("region_code", sa.String(6), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("policy_id", sa.String(32), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("rule", JSONB, nullable=True),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("treat_first_rule")

"""Published policy versions.

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
        "policy_version",
        sa.Column("policy_id", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("valid_from", sa.Date, nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("source_text", sa.Text, nullable=False),
        sa.Column("parts", JSONB, nullable=False),
        sa.Column("published_by", sa.String(255), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("policy_version")

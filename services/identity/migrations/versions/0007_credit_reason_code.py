"""A credit case transition's reason code: what the credit feed says instead of the operator's words.

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("credit_case_event", sa.Column("reason_code", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("credit_case_event", "reason_code")

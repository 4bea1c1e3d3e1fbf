"""The agreement's life (issue 12 point 1): its term from the region's rule, its end (why, when, with which stay)
and who each card was handed back to (document custody history).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # agreements signed before this revision were all signed under with-stay rules or 启东's, which had no term yet:
    # they keep admitting as before (with_stay, no end date)
    op.add_column("agreement", sa.Column("ends", sa.String(16), nullable=False, server_default="with_stay"))
    op.add_column("agreement", sa.Column("ends_on", sa.Date, nullable=True))
    op.add_column("agreement", sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("agreement", sa.Column("end_reason", sa.String(16), nullable=True))
    op.add_column("agreement", sa.Column("ended_with_stay_id", UUID(as_uuid=False), nullable=True))
    op.add_column("document_custody", sa.Column("returned_to", sa.String(16), nullable=True))


def downgrade() -> None:
    op.drop_column("document_custody", "returned_to")
    for column in ("ended_with_stay_id", "end_reason", "ended_at", "ends_on", "ends"):
        op.drop_column("agreement", column)

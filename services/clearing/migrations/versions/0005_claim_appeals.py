"""A claim item's appeal (申诉): a rejected or deducted item resubmitted once with the hospital's note.

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
    op.add_column("claim_item", sa.Column("appealed", sa.Boolean, nullable=False, server_default=sa.text("false")))
    op.add_column("claim_item", sa.Column("appeal_note", sa.Text, nullable=True))
    op.add_column("claim_item", sa.Column("appeal_transfer_id", UUID(as_uuid=True), sa.ForeignKey(
        "transfer.id", name="fk_claim_item_appeal_transfer_id_transfer"), nullable=True))
    op.add_column("claim_item", sa.Column("approved_before_appeal", sa.BigInteger, nullable=True))


def downgrade() -> None:
    for c in ("approved_before_appeal", "appeal_transfer_id", "appeal_note", "appealed"):
        op.drop_column("claim_item", c)

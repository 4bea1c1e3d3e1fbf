"""Payments at the window (issue 13 point 1): payments on account, of the patient's share, refunds and voids."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payment",
        sa.Column("payment_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id", name="fk_payment_stay_id_stay"),
                  nullable=False),
        sa.Column("hospital_code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("method", sa.String(16), nullable=False),
        sa.Column("receipt_no", sa.String(64), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("voids", UUID(as_uuid=False),
                  sa.ForeignKey("payment.payment_id", name="fk_payment_voids_payment"), nullable=True),
        sa.Column("voided_by", UUID(as_uuid=False), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("cashier", sa.String(200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.UniqueConstraint("voids", name="uq_payment_voids"),
    )
    op.create_index("ux_payment_receipt", "payment", ["hospital_code", "receipt_no"], unique=True,
                    postgresql_where=sa.text("receipt_no IS NOT NULL"))
    op.create_index("ix_payment_stay", "payment", ["stay_id", "seq"])
    op.create_index("ix_payment_day", "payment", ["hospital_code", "paid_on"])


def downgrade() -> None:
    op.drop_table("payment")

"""Clearing's claims (NHSA 3203 清算申请), their items and decisions, disbursements, prepayments, and each
settlement's month (issue 14, points 4-6).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settlement_period",
        sa.Column("settlement_id", sa.String(64), primary_key=True),
        sa.Column("hospital_code", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("setlym", sa.String(6), nullable=False),
        sa.Column("total", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "claim",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("hospital_code", sa.String(64), nullable=False),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("setlym", sa.String(6), nullable=False),
        sa.Column("supplementary", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("total_cost", sa.BigInteger, nullable=False),
        sa.Column("fund_amount", sa.BigInteger, nullable=False),
        sa.Column("approved", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("rejected", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("owed_back_netted", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("prepayment_netted", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("paid", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('submitted', 'decided', 'withdrawn')", name="ck_claim_status"),
    )
    op.create_index("uq_claim_open_period", "claim", ["hospital_code", "payer", "region_code", "setlym"],
                    unique=True, postgresql_where=sa.text("status = 'submitted'"))
    op.create_table(
        "claim_item",
        sa.Column("claim_id", UUID(as_uuid=True), sa.ForeignKey("claim.id"), primary_key=True),
        sa.Column("settlement_id", sa.String(64), primary_key=True),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("total_cost", sa.BigInteger, nullable=False),
        sa.Column("transfer_id", UUID(as_uuid=True), sa.ForeignKey("transfer.id"), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.text("true")),
        sa.Column("decision", sa.String(16), nullable=True),
        sa.Column("approved", sa.BigInteger, nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind IN ('leg', 'owed_back')", name="ck_claim_item_kind"),
        sa.CheckConstraint("(kind = 'leg') = (amount > 0)", name="ck_claim_item_sign"),
    )
    op.create_index("uq_claim_item_leg", "claim_item", ["settlement_id", "payer", "region_code"], unique=True,
                    postgresql_where=sa.text("active AND kind = 'leg'"))
    op.create_table(
        "disbursement",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("claim_id", UUID(as_uuid=True), sa.ForeignKey("claim.id"), nullable=False),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount > 0", name="ck_disbursement_amount_positive"),
    )
    op.create_index("uq_disbursement_reference", "disbursement", ["payer", "region_code", "reference"], unique=True)
    op.create_table(
        "prepayment",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("hospital_code", sa.String(64), nullable=False),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("reference", sa.String(64), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("paid_on", sa.Date, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("amount > 0", name="ck_prepayment_amount_positive"),
    )
    op.create_index("uq_prepayment_reference", "prepayment", ["payer", "region_code", "reference"], unique=True)


def downgrade() -> None:
    op.execute("DROP TABLE prepayment, disbursement, claim_item, claim, settlement_period")

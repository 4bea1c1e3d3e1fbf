"""Repayment plans and their instalments (issue 13 point 2)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repayment_plan",
        sa.Column("plan_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False),
                  sa.ForeignKey("stay.stay_id", name="fk_repayment_plan_stay_id_stay"), nullable=False),
        sa.Column("hospital_code", sa.String(32), nullable=False),
        sa.Column("person_ref", UUID(as_uuid=False), nullable=False),
        sa.Column("insurance_region_code", sa.String(6), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("paid_before_fen", sa.BigInteger, nullable=False),
        sa.Column("replaces", UUID(as_uuid=False),
                  sa.ForeignKey("repayment_plan.plan_id", name="fk_repayment_plan_replaces_repayment_plan"),
                  nullable=True),
        sa.Column("replaced_by", UUID(as_uuid=False), nullable=True),
        sa.Column("signer_relation", sa.String(16), nullable=False),
        sa.Column("signed_by", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    )
    op.create_index("ux_repayment_plan_active", "repayment_plan", ["stay_id"], unique=True,
                    postgresql_where=sa.text("state = 'active'"))
    op.create_index("ix_repayment_plan_stay", "repayment_plan", ["stay_id", "seq"])
    op.create_table(
        "instalment",
        sa.Column("plan_id", UUID(as_uuid=False),
                  sa.ForeignKey("repayment_plan.plan_id", name="fk_instalment_plan_id_repayment_plan"),
                  primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_instalment_due", "instalment", ["due_date"])


def downgrade() -> None:
    op.drop_table("instalment")
    op.drop_table("repayment_plan")

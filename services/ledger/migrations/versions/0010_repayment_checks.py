"""Repayment reminders and overdue notices, home visits, write-offs (issue 13 point 3)."""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "repayment_notice",
        sa.Column("plan_id", UUID(as_uuid=False),
                  sa.ForeignKey("repayment_plan.plan_id", name="fk_repayment_notice_plan_id_repayment_plan"),
                  primary_key=True),
        sa.Column("number", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "visit",
        sa.Column("visit_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("plan_id", UUID(as_uuid=False),
                  sa.ForeignKey("repayment_plan.plan_id", name="fk_visit_plan_id_repayment_plan"), nullable=False),
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id", name="fk_visit_stay_id_stay"),
                  nullable=False),
        sa.Column("person_ref", UUID(as_uuid=False), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("hospital_code", sa.String(32), nullable=False),
        sa.Column("overdue_fen", sa.BigInteger, nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("township", sa.String(100), nullable=True),
        sa.Column("assigned_by", sa.String(200), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("visited_on", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.UniqueConstraint("plan_id", name="uq_visit_plan_id"),
    )
    op.create_index("ix_visit_region", "visit", ["region_code", "seq"])
    op.create_table(
        "write_off",
        sa.Column("write_off_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id", name="fk_write_off_stay_id_stay"),
                  nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("written_off_by", sa.String(200), nullable=False),
        sa.Column("written_off_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_write_off_stay_id", "write_off", ["stay_id"])


def downgrade() -> None:
    op.drop_table("write_off")
    op.drop_table("visit")
    op.drop_table("repayment_notice")

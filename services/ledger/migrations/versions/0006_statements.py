"""The estimate's audit rows, discharge notices, cost alerts (issue 12 points 4, 5, 6-estimate).

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "estimate_audit",
        sa.Column("estimate_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id"), nullable=False),
        sa.Column("estimated_by", sa.String(200), nullable=False),
        sa.Column("estimated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("through", sa.Date, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("self_pay_fen", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_estimate_audit_stay", "estimate_audit", ["stay_id", "estimated_at"])
    op.create_table(
        "discharge_notice",
        sa.Column("notice_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id"), nullable=False),
        sa.Column("expected_discharge", sa.Date, nullable=False),
        sa.Column("part_index", sa.Integer, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("self_pay_fen", sa.BigInteger, nullable=False),
        sa.Column("funds", JSONB, nullable=False),
        sa.Column("quote", JSONB, nullable=False),
        sa.Column("told_by", sa.String(32), nullable=True),
        sa.Column("told_to", sa.String(16), nullable=True),
        sa.Column("told_by_subject", sa.String(200), nullable=False),
        sa.Column("told_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    )
    op.create_index("ix_discharge_notice_stay", "discharge_notice", ["stay_id", "seq"])
    op.create_table(
        "cost_alert",
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id"), primary_key=True),
        sa.Column("threshold_fen", sa.BigInteger, primary_key=True),
        sa.Column("alert_id", UUID(as_uuid=False), nullable=False, unique=True),
        sa.Column("estimated_total_fen", sa.BigInteger, nullable=False),
        sa.Column("estimated_self_pay_fen", sa.BigInteger, nullable=False),
        sa.Column("through", sa.Date, nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "cost_alert_check",
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id"), primary_key=True),
        sa.Column("lines_version", sa.BigInteger, nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("cost_alert_check", "cost_alert", "discharge_notice", "estimate_audit"):
        op.drop_table(table)

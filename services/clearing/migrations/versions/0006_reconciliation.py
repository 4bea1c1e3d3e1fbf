"""Recorded reconciliations and their differences, fund budgets' reached thresholds (issue 14 points 7, 9).

(chained after the claims piece's 0004 and 0005).

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
        "reconciliation_run",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("hospital_code", sa.String(64), nullable=True),
        sa.Column("payer", sa.String(48), nullable=True),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("period", sa.String(7), nullable=True),
        sa.Column("cutoff", sa.DateTime(timezone=True), nullable=False),
        sa.Column("equal", sa.Boolean, nullable=False),
        sa.Column("groups", JSONB, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "reconciliation_difference",
        sa.Column("run_id", UUID(as_uuid=True), sa.ForeignKey("reconciliation_run.id",
                                                               name="fk_reconciliation_difference_run_id_reconciliation_run"),
                  primary_key=True),
        sa.Column("n", sa.Integer, primary_key=True),
        sa.Column("settlement_id", sa.String(64), nullable=False),
        sa.Column("hospital_code", sa.String(64), nullable=False),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("ledger_fen", sa.BigInteger, nullable=True),
        sa.Column("clearing_fen", sa.BigInteger, nullable=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default=sa.text("'open'")),
        sa.Column("note", sa.Text, nullable=True),
        sa.Column("updated_by", sa.String(200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("state IN ('open', 'explained', 'fixed')", name="ck_reconciliation_difference_state_known"),
        sa.CheckConstraint("kind IN ('missing_in_clearing', 'missing_in_ledger', 'amount')",
                           name="ck_reconciliation_difference_kind_known"),
    )
    op.create_table(
        "budget_threshold",
        sa.Column("payer", sa.String(48), primary_key=True),
        sa.Column("region_code", sa.String(6), primary_key=True),
        sa.Column("period_start", sa.Date, primary_key=True),
        sa.Column("threshold", sa.Integer, primary_key=True),
        sa.Column("consumed", sa.BigInteger, nullable=False),
        sa.Column("reached_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("budget_threshold")
    op.drop_table("reconciliation_difference")
    op.drop_table("reconciliation_run")

"""Clearing's books: accounts per hospital × fund, append-only transfers, the dedicated worker groups (issue 14).

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("hospital_code", sa.String(64), nullable=False),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("debits_must_not_exceed_credits", sa.Boolean, nullable=False),
        sa.Column("credits_must_not_exceed_debits", sa.Boolean, nullable=False),
        sa.Column("debits_pending", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("debits_posted", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("credits_pending", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("credits_posted", sa.BigInteger, nullable=False, server_default=sa.text("0")),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("debits_pending >= 0 AND debits_posted >= 0 AND credits_pending >= 0 "
                           "AND credits_posted >= 0", name="ck_account_sums_non_negative"),
        sa.CheckConstraint("NOT debits_must_not_exceed_credits OR debits_pending + debits_posted <= credits_posted",
                           name="ck_account_debits_within_credits"),
        sa.CheckConstraint("NOT credits_must_not_exceed_debits OR credits_pending + credits_posted <= debits_posted",
                           name="ck_account_credits_within_debits"),
    )
    op.create_index("uq_account_key", "account", ["hospital_code", "payer", "region_code", "code"], unique=True)
    op.create_table(
        "transfer",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("debit_account_id", UUID(as_uuid=True), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("credit_account_id", UUID(as_uuid=True), sa.ForeignKey("account.id"), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("pending_id", UUID(as_uuid=True), sa.ForeignKey("transfer.id"), nullable=True),
        sa.Column("corrects_id", UUID(as_uuid=True), sa.ForeignKey("transfer.id"), nullable=True),
        sa.Column("hospital_code", sa.String(64), nullable=False),
        sa.Column("payer", sa.String(48), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("settlement_id", sa.String(64), nullable=True),
        sa.Column("event_id", sa.String(64), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("clock_timestamp()")),
        sa.CheckConstraint("amount > 0 OR (amount = 0 AND kind IN ('post_pending', 'void_pending'))",
                           name="ck_transfer_amount_positive"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="ck_transfer_two_accounts"),
        sa.CheckConstraint("(kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL)",
                           name="ck_transfer_pending_named"),
    )
    op.create_index("uq_transfer_pending_id", "transfer", ["pending_id"], unique=True,
                    postgresql_where=sa.text("pending_id IS NOT NULL"))
    op.create_index("uq_transfer_reversal_of", "transfer", ["corrects_id"], unique=True,
                    postgresql_where=sa.text("code = 'reversal'"))
    op.create_index("ix_transfer_settlement", "transfer", ["settlement_id", "payer", "region_code"])
    op.create_index("ix_transfer_debit", "transfer", ["debit_account_id"])
    op.create_index("ix_transfer_credit", "transfer", ["credit_account_id"])
    op.create_table(
        "worker_group",
        sa.Column("payer", sa.String(48), primary_key=True),
        sa.Column("group_name", sa.String(200), nullable=False),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    # transfers are immutable: a mistake is corrected by a new transfer naming the one it corrects
    op.execute("""
        CREATE FUNCTION transfer_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'transfers are immutable: post a correcting transfer'; END $$
    """)
    op.execute("CREATE TRIGGER transfer_immutable BEFORE UPDATE OR DELETE ON transfer "
               "FOR EACH ROW EXECUTE FUNCTION transfer_immutable()")


def downgrade() -> None:
    op.execute("DROP TABLE worker_group, transfer, account")
    op.execute("DROP FUNCTION transfer_immutable()")

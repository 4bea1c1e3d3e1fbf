"""Fee lines, the person-year accumulators, settlements and their per-fund rows (issue 12 points 3, 6-8).

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("stay", sa.Column("settled_through", sa.Date, nullable=True))
    op.add_column("stay", sa.Column("discharged_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("stay", sa.Column("discharge_way", sa.String(16), nullable=True))
    op.add_column("stay", sa.Column("lines_version", sa.BigInteger, nullable=False, server_default="0"))
    op.create_table(
        "fee_line",
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id"), primary_key=True),
        sa.Column("line_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("fee_class", sa.String(1), nullable=False),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
        sa.Column("quantity", sa.Numeric(18, 4), nullable=True),
        sa.Column("unit_price_fen", sa.BigInteger, nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("occurred_on", sa.Date, nullable=False),
        sa.Column("refunds_line_id", sa.String(64), nullable=True),
        sa.Column("settlement_id", UUID(as_uuid=False), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_fee_line_refunds", "fee_line", ["stay_id", "refunds_line_id"],
                    postgresql_where=sa.text("refunds_line_id IS NOT NULL"))
    op.create_table(
        "accumulator",
        sa.Column("person_ref", UUID(as_uuid=False), primary_key=True),
        sa.Column("newborn", sa.Integer, primary_key=True),
        sa.Column("year", sa.Integer, primary_key=True),
        sa.Column("state", JSONB, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "settlement",
        sa.Column("settlement_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False), sa.ForeignKey("stay.stay_id"), nullable=False),
        sa.Column("person_ref", UUID(as_uuid=False), nullable=False),
        sa.Column("newborn", sa.Integer, nullable=False),
        sa.Column("year", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("part_index", sa.Integer, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("reverses", UUID(as_uuid=False), sa.ForeignKey("settlement.settlement_id"), nullable=True),
        sa.Column("reversed_by", UUID(as_uuid=False), nullable=True),
        sa.Column("hospital_code", sa.String(32), nullable=False),
        sa.Column("hospital_region_code", sa.String(6), nullable=False),
        sa.Column("insurance_region_code", sa.String(6), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("through", sa.Date, nullable=False),
        sa.Column("total_fen", sa.BigInteger, nullable=False),
        sa.Column("self_pay_fen", sa.BigInteger, nullable=False),
        sa.Column("fund_pay_fen", sa.BigInteger, nullable=False),
        sa.Column("hosp_part_fen", sa.BigInteger, nullable=False),
        sa.Column("on_account_fen", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("effective_ratio", sa.String(16), nullable=False),
        sa.Column("policy_id", sa.String(64), nullable=False),
        sa.Column("policy_version", sa.Integer, nullable=False),
        sa.Column("discharge_way", sa.String(16), nullable=True),
        sa.Column("disease_code", sa.String(32), nullable=True),
        sa.Column("quote", JSONB, nullable=False),
        sa.Column("delta", JSONB, nullable=False),
        sa.Column("recheck", JSONB, nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("settled_by", sa.String(200), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seq", sa.BigInteger, sa.Identity(), nullable=False),
    )
    op.create_index("ix_settlement_stay", "settlement", ["stay_id", "seq"])
    op.create_index("ix_settlement_person_year", "settlement", ["person_ref", "newborn", "year", "seq"])
    op.create_index("ix_settlement_hospital", "settlement", ["hospital_code", "settled_at", "settlement_id"])
    op.create_index("ix_settlement_region", "settlement", ["insurance_region_code", "settled_at", "settlement_id"])
    op.create_table(
        "settlement_fund",
        sa.Column("settlement_id", UUID(as_uuid=False), sa.ForeignKey("settlement.settlement_id"),
                  primary_key=True),
        sa.Column("payer", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("agency", sa.String(200), nullable=False),
        sa.Column("nhsa_code", sa.String(16), nullable=True),
        sa.Column("amount_fen", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_settlement_fund_payer", "settlement_fund", ["payer", "settlement_id"])


def downgrade() -> None:
    op.drop_table("settlement_fund")
    op.drop_table("settlement")
    op.drop_table("accumulator")
    op.drop_table("fee_line")
    for column in ("lines_version", "discharge_way", "discharged_at", "settled_through"):
        op.drop_column("stay", column)

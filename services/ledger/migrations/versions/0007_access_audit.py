"""The access audit of stay and settlement reads, the lines each settlement took, and the list reads' indexes
(issue 12 points 9, 10, 12).

Revision ID: 0007
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import UUID

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "access_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("hospital_code", sa.String(32), nullable=True),
        sa.Column("stay_id", UUID(as_uuid=False), nullable=True),
        sa.Column("person_ref", UUID(as_uuid=False), nullable=True),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("detail", sa.String(512), nullable=True),
    )
    op.create_index("ix_access_audit_person", "access_audit", ["person_ref", "id"])
    op.create_index("ix_access_audit_subject", "access_audit", ["subject", "id"])
    op.create_table(
        "settlement_line",
        sa.Column("settlement_id", UUID(as_uuid=False), sa.ForeignKey("settlement.settlement_id"),
                  primary_key=True),
        sa.Column("stay_id", UUID(as_uuid=False), nullable=False),
        sa.Column("line_id", sa.String(64), primary_key=True),
    )
    # the settlements already written keep the lines they took (a reversed one gave them back: unknown)
    op.execute("INSERT INTO settlement_line (settlement_id, stay_id, line_id) "
               "SELECT settlement_id, stay_id, line_id FROM fee_line WHERE settlement_id IS NOT NULL")
    op.create_index("ix_settlement_hospital_seq", "settlement", ["hospital_code", "seq"])
    op.create_index("ix_settlement_region_seq", "settlement", ["insurance_region_code", "seq"])
    op.create_index("ix_settlement_through", "settlement", ["through"])
    op.create_index("ix_stay_hospital_admitted", "stay", ["hospital_code", "admitted_at", "stay_id"])
    op.create_index("ix_stay_admitted", "stay", ["admitted_at", "stay_id"])


def downgrade() -> None:
    for name, table in (("ix_stay_admitted", "stay"), ("ix_stay_hospital_admitted", "stay"),
                        ("ix_settlement_through", "settlement"), ("ix_settlement_region_seq", "settlement"),
                        ("ix_settlement_hospital_seq", "settlement")):
        op.drop_index(name, table_name=table)
    op.drop_table("settlement_line")
    op.drop_table("access_audit")

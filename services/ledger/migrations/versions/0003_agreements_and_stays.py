"""Agreements (先诊疗后付费协议书), document custody history, stays (issue 12 points 1-2, first slice).

No PII column: the person is identity's person_id; the ID number identity is re-asked with is sealed.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "agreement",
        sa.Column("agreement_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("person_ref", UUID(as_uuid=False), nullable=False),
        sa.Column("id_sealed", sa.LargeBinary, nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("insurance_region_code", sa.String(6), nullable=False),
        sa.Column("hospital_code", sa.String(32), nullable=False),
        sa.Column("hospital_region_code", sa.String(6), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("public_only", sa.Boolean, nullable=False),
        sa.Column("signer_relation", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="active"),
        sa.Column("signed_by", sa.String(200), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eligibility", JSONB, nullable=False),
    )
    op.create_index("ix_agreement_person_ref", "agreement", ["person_ref"])
    op.create_table(
        "document_custody",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("agreement_id", UUID(as_uuid=False), sa.ForeignKey("agreement.agreement_id"), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_document_custody_agreement", "document_custody", ["agreement_id", "id"])
    op.create_table(
        "stay",
        sa.Column("stay_id", UUID(as_uuid=False), primary_key=True),
        sa.Column("agreement_id", UUID(as_uuid=False), sa.ForeignKey("agreement.agreement_id"), nullable=False),
        sa.Column("person_ref", UUID(as_uuid=False), nullable=False),
        sa.Column("newborn", sa.Integer, nullable=False, server_default="0"),
        sa.Column("insurance_region_code", sa.String(6), nullable=False),
        sa.Column("hospital_code", sa.String(32), nullable=False),
        sa.Column("hospital_region_code", sa.String(6), nullable=False),
        sa.Column("hospital_level", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("chronic", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("disease_code", sa.String(32), nullable=True),
        sa.Column("expected_cost_fen", sa.BigInteger, nullable=True),
        sa.Column("admitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="open"),
        sa.Column("person_facts", JSONB, nullable=False),
        sa.Column("eligibility", JSONB, nullable=False),
        sa.Column("cancel_reason", sa.Text, nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ux_stay_open", "stay", ["person_ref", "newborn", "hospital_code"], unique=True,
                    postgresql_where=sa.text("state = 'open'"))
    op.create_index("ix_stay_hospital", "stay", ["hospital_code", "stay_id"])


def downgrade() -> None:
    op.drop_table("stay")
    op.drop_table("document_custody")
    op.drop_table("agreement")

"""Persons, profiles, statuses, insurance enrolments, imports, credit cases, access audit.

Revision ID: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB, UUID

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_UUID = UUID(as_uuid=False)


def _now() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "person",
        sa.Column("person_id", _UUID, primary_key=True),
        sa.Column("id_index", sa.String(64), nullable=False),
        sa.Column("id_cipher", sa.LargeBinary, nullable=False),
        sa.Column("birth_date", sa.Date, nullable=False),
        sa.Column("sex", sa.String(6), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("id_index", name="uq_person_id_index"),
    )
    op.create_table(
        "person_profile",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("person_id", _UUID, nullable=False),
        sa.Column("name_cipher", sa.LargeBinary, nullable=True),
        sa.Column("name_hash", sa.String(64), nullable=True),
        sa.Column("guardian_cipher", sa.LargeBinary, nullable=True),
        sa.Column("guardian_hash", sa.String(64), nullable=True),
        sa.Column("domicile_region", sa.String(6), nullable=True),
        sa.Column("household", sa.String(8), nullable=True),
        sa.Column("civil_servant", sa.Boolean, nullable=True),
        sa.Column("disability", sa.String(16), nullable=True),
        sa.Column("disease_class", sa.String(1), nullable=True),
        sa.Column("labour", sa.Boolean, nullable=True),
        sa.Column("card_no", sa.String(32), nullable=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("import_id", _UUID, nullable=True),
        _now(),
        sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("uq_person_profile_current", "person_profile", ["person_id"], unique=True,
                    postgresql_where=sa.text("superseded_at IS NULL"))
    for table, extra in (
        ("person_status", [sa.Column("category", sa.String(32), nullable=False),
                           sa.Column("subgroup", sa.String(8), nullable=True),
                           sa.Column("source", sa.String(32), nullable=False),
                           sa.Column("region_code", sa.String(6), nullable=False)]),
        ("insurance_enrolment", [sa.Column("scheme", sa.String(16), nullable=False),
                                 sa.Column("region_code", sa.String(6), nullable=False),
                                 sa.Column("source", sa.String(32), nullable=False)]),
    ):
        op.create_table(
            table,
            sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
            sa.Column("person_id", _UUID, nullable=False),
            *extra,
            sa.Column("valid_from", sa.Date, nullable=False),
            sa.Column("valid_to", sa.Date, nullable=True),
            sa.Column("import_id", _UUID, nullable=True),
            _now(),
            sa.Column("superseded_at", sa.DateTime(timezone=True), nullable=True),
        )
        op.create_index(f"ix_{table}_current", table, ["person_id"], postgresql_where=sa.text("superseded_at IS NULL"))
        op.create_index(f"ix_{table}_person", table, ["person_id"])
    op.create_table(
        "import_run",
        sa.Column("import_id", _UUID, primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("region_code", sa.String(6), nullable=True),
        sa.Column("file_kind", sa.String(8), nullable=True),
        sa.Column("encoding", sa.String(16), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("accepted", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("rejected", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("rejected_rows", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("changed_persons", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("ignored_columns", JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("started_by", sa.String(255), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "import_rejection",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("import_id", _UUID, nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_index("ix_import_rejection_import_id", "import_rejection", ["import_id"])
    op.create_table(
        "credit_case",
        sa.Column("case_id", _UUID, primary_key=True),
        sa.Column("person_id", _UUID, nullable=False),
        sa.Column("region_code", sa.String(6), nullable=False),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_credit_case_person_id", "credit_case", ["person_id"])
    op.create_table(
        "credit_case_event",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("case_id", _UUID, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("household_visit_on", sa.Date, nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("ix_credit_case_event_case_id", "credit_case_event", ["case_id"])
    op.create_table(
        "access_audit",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("person_id", _UUID, nullable=True),
        sa.Column("endpoint", sa.String(128), nullable=False),
        sa.Column("detail", sa.String(255), nullable=True),
    )
    op.create_index("ix_access_audit_person", "access_audit", ["person_id", "at"])
    op.create_index("ix_access_audit_subject", "access_audit", ["subject", "at"])


def downgrade() -> None:
    for table in ("access_audit", "credit_case_event", "credit_case", "import_rejection", "import_run",
                  "insurance_enrolment", "person_status", "person_profile", "person"):
        op.drop_table(table)

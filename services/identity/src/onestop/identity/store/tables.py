"""The identity service's tables (its own database). All SQL of the service lives in store/.

History is kept by superseding: a changed fact gets a new row and the old row's `superseded_at`
is set; rows are never updated otherwise and never deleted.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from onestop.common.db import NAMING, platform_tables

metadata = MetaData(naming_convention=NAMING)
platform_tables(metadata)

# The treat-first rules identity decides with, one row per published policy version (history kept).
treat_first_rule = Table(
    "treat_first_rule", metadata,
    Column("region_code", String(6), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("policy_id", String(32), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("rule", JSONB, nullable=True),
    Column("event_id", String(64), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# A person: the opaque id other services use, the blind index to find them, the sealed ID number.
person = Table(
    "person", metadata,
    Column("person_id", UUID(as_uuid=False), primary_key=True),
    Column("id_index", String(64), nullable=False, unique=True),
    Column("id_cipher", LargeBinary, nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("sex", String(6), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# What registers say about a person besides statuses; one current row per person, older ones superseded.
person_profile = Table(
    "person_profile", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("name_cipher", LargeBinary, nullable=True),
    Column("name_hash", String(64), nullable=True),
    Column("guardian_cipher", LargeBinary, nullable=True),
    Column("guardian_hash", String(64), nullable=True),
    Column("domicile_region", String(6), nullable=True),
    Column("household", String(8), nullable=True),
    Column("civil_servant", Boolean, nullable=True),
    Column("disability", String(16), nullable=True),
    Column("disease_class", String(1), nullable=True),
    Column("labour", Boolean, nullable=True),
    Column("card_no", String(32), nullable=True),
    Column("source", String(32), nullable=False),
    Column("import_id", UUID(as_uuid=False), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("superseded_at", DateTime(timezone=True), nullable=True),
    Index("uq_person_profile_current", "person_id", unique=True, postgresql_where=text("superseded_at IS NULL")),
)

# An assistance status from a register with its validity period and source.
person_status = Table(
    "person_status", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("category", String(32), nullable=False),
    Column("subgroup", String(8), nullable=True),
    Column("source", String(32), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("import_id", UUID(as_uuid=False), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("superseded_at", DateTime(timezone=True), nullable=True),
    Index("ix_person_status_person", "person_id"),
)

# An insurance enrolment (参保): scheme, insurance region, period.
insurance_enrolment = Table(
    "insurance_enrolment", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("person_id", UUID(as_uuid=False), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("region_code", String(6), nullable=False),
    Column("source", String(32), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date, nullable=True),
    Column("import_id", UUID(as_uuid=False), nullable=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("superseded_at", DateTime(timezone=True), nullable=True),
    Index("ix_insurance_enrolment_person", "person_id"),
)

# One register import and its counts.
import_run = Table(
    "import_run", metadata,
    Column("import_id", UUID(as_uuid=False), primary_key=True),
    Column("source", String(32), nullable=False),
    Column("region_code", String(6), nullable=True),
    Column("file_kind", String(8), nullable=True),
    Column("encoding", String(16), nullable=True),
    Column("state", String(16), nullable=False),
    Column("accepted", Integer, nullable=False, server_default=text("0")),
    Column("rejected", Integer, nullable=False, server_default=text("0")),
    Column("rejected_rows", Integer, nullable=False, server_default=text("0")),
    Column("changed_persons", Integer, nullable=False, server_default=text("0")),
    Column("ignored_columns", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("started_by", String(255), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("failure_reason", Text, nullable=True),
)

# The row-level report of an import: every problem of every rejected row.
import_rejection = Table(
    "import_rejection", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("import_id", UUID(as_uuid=False), nullable=False, index=True),
    Column("row", Integer, nullable=False),
    Column("field", String(32), nullable=False),
    Column("reason", Text, nullable=False),
)

# A credit case (诚信): suspected malicious default → blacklisted or dismissed → lifted.
credit_case = Table(
    "credit_case", metadata,
    Column("case_id", UUID(as_uuid=False), primary_key=True),
    Column("person_id", UUID(as_uuid=False), nullable=False, index=True),
    Column("region_code", String(6), nullable=False),
    Column("origin", String(16), nullable=False),
    Column("plan_id", String(64), nullable=True),
    Column("state", String(16), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Every transition of a credit case, with who, why and (for a decision) the household visit date.
credit_case_event = Table(
    "credit_case_event", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("case_id", UUID(as_uuid=False), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("reason", Text, nullable=False),  # the operator's words: internal, never in the credit feed
    Column("reason_code", String(32), nullable=True),  # what the feed says (contracts.enums.CreditReason)
    Column("actor", String(255), nullable=False),
    Column("household_visit_on", Date, nullable=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Who read whose data, when, through which endpoint (personal information protection law).
access_audit = Table(
    "access_audit", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("subject", String(255), nullable=False),
    Column("role", String(16), nullable=False),
    Column("person_id", UUID(as_uuid=False), nullable=True),
    Column("endpoint", String(128), nullable=False),
    Column("detail", String(255), nullable=True),
    Column("id_index", String(64), nullable=True),  # an eligibility lookup's blind index (unknown numbers too)
    Column("hospital_code", String(32), nullable=True),  # the hospital that asked
    Index("ix_access_audit_person", "person_id", "at"),
    Index("ix_access_audit_subject", "subject", "at"),
)

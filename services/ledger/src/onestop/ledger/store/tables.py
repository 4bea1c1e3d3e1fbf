"""The ledger service's tables (its own database). All SQL of the service lives in store/.

No column holds an ID number or a name in clear: a person is identity's `person_id` (`person_ref`), the signer
only their relation; the ID number identity must be asked with again is sealed (domain/sealing.py).
"""

from sqlalchemy import (
                        BigInteger,
                        Boolean,
                        Column,
                        DateTime,
                        ForeignKey,
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

agreement = Table(
    "agreement", metadata,
    Column("agreement_id", UUID(as_uuid=False), primary_key=True),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("id_sealed", LargeBinary, nullable=False),
    Column("region_code", String(6), nullable=False),  # the region asked (whose treat-first rule applies)
    Column("insurance_region_code", String(6), nullable=False),  # 参保地: the events' routing
    Column("hospital_code", String(32), nullable=False),
    Column("hospital_region_code", String(6), nullable=False),
    Column("scope", String(16), nullable=False),  # hospital | city
    Column("public_only", Boolean, nullable=False),
    Column("signer_relation", String(16), nullable=False),
    Column("state", String(16), nullable=False, server_default="active"),
    Column("signed_by", String(200), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
    Column("eligibility", JSONB, nullable=False),  # identity's decision at signing, without the masked number
    Index("ix_agreement_person_ref", "person_ref"),
)

document_custody = Table(
    "document_custody", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("agreement_id", UUID(as_uuid=False), ForeignKey("agreement.agreement_id"), nullable=False),
    Column("kind", String(32), nullable=False),  # insurance_card | id_copy | poverty_card
    Column("action", String(16), nullable=False),  # kept (at signing); returned comes with the next slice
    Column("actor", String(200), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_document_custody_agreement", "agreement_id", "id"),
)

stay = Table(
    "stay", metadata,
    Column("stay_id", UUID(as_uuid=False), primary_key=True),
    Column("agreement_id", UUID(as_uuid=False), ForeignKey("agreement.agreement_id"), nullable=False),
    Column("person_ref", UUID(as_uuid=False), nullable=False),
    Column("newborn", Integer, nullable=False, server_default="0"),  # 0: the person; 1, 2: her newborns
    Column("insurance_region_code", String(6), nullable=False),
    Column("hospital_code", String(32), nullable=False),
    Column("hospital_region_code", String(6), nullable=False),
    Column("hospital_level", String(16), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("chronic", Boolean, nullable=False, server_default="false"),
    Column("disease_code", String(32), nullable=True),
    Column("expected_cost_fen", BigInteger, nullable=True),
    Column("admitted_at", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False, server_default="open"),  # open | cancelled
    Column("person_facts", JSONB, nullable=False),  # the quote's `person`, as identity answered on admission
    Column("eligibility", JSONB, nullable=False),  # identity's decision as of the admission date
    Column("cancel_reason", Text, nullable=True),
    Column("cancelled_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # one open stay per person (and newborn) per hospital; the index makes it hold under concurrent admissions
    Index("ux_stay_open", "person_ref", "newborn", "hospital_code", unique=True,
          postgresql_where=text("state = 'open'")),
    Index("ix_stay_hospital", "hospital_code", "stay_id"),
)

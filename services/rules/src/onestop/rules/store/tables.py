"""The rules service's tables (its own database). All SQL of the service lives in store/.

Shipped policies are files in the repository; every version published through the API is a row
here (its YAML text kept verbatim), so replicas and restarts rebuild the same registry.
"""

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, String, Table, Text, func
from sqlalchemy.dialects.postgresql import JSONB

from onestop.common.db import NAMING, platform_tables

metadata = MetaData(naming_convention=NAMING)
platform_tables(metadata)

policy_version = Table(
    "policy_version", metadata,
    Column("policy_id", String(32), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("region_code", String(6), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("filename", String(255), nullable=False),
    Column("source_text", Text, nullable=False),
    Column("parts", JSONB, nullable=False),
    Column("published_by", String(255), nullable=False),
    Column("published_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

"""The identity service's tables (its own database). All SQL of the service lives in store/."""

from sqlalchemy import Column, Date, DateTime, Integer, MetaData, String, Table, func
from sqlalchemy.dialects.postgresql import JSONB

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

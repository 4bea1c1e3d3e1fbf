"""The clearing service's tables (its own database). All SQL of the service lives in store/."""

from sqlalchemy import MetaData

from onestop.common.db import NAMING, platform_tables

metadata = MetaData(naming_convention=NAMING)
platform_tables(metadata)

"""Platform v2: parked outbox rows and parked inbound events (issue 10), purge indexes.

Revision ID: 0002
"""

from onestop.common.migrations import upgrade_platform_tables_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    upgrade_platform_tables_v2()


def downgrade() -> None:
    raise NotImplementedError("the platform tables are not dropped")

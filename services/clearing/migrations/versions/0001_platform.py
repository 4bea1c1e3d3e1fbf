"""Platform tables: outbox, inbox, idempotency keys.

Revision ID: 0001
"""

from onestop.common.migrations import create_platform_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_platform_tables_v1()


def downgrade() -> None:
    raise NotImplementedError("the platform tables are not dropped")

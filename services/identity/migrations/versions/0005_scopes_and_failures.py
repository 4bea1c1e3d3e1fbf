"""An import's failure reason; the access audit names the blind index looked up and the asking hospital.

- `import_run.failure_reason`: an import that stops (the database away, a bug) is marked `failed` with
  a sentence saying where and why, instead of staying `running` for ever.
- `access_audit.id_index`: an eligibility lookup of a number on no register is audited by the number's
  blind index (never the number), so repeated probing of unknown numbers can be seen.
- `access_audit.hospital_code`: which hospital asked; `GET /v1/persons/{id}` shows a hospital only the
  persons it checked within a window, found through ix_access_audit_person (person_id, at).

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_run", sa.Column("failure_reason", sa.Text, nullable=True))
    op.add_column("access_audit", sa.Column("id_index", sa.String(64), nullable=True))
    op.add_column("access_audit", sa.Column("hospital_code", sa.String(32), nullable=True))


def downgrade() -> None:
    op.drop_column("access_audit", "hospital_code")
    op.drop_column("access_audit", "id_index")
    op.drop_column("import_run", "failure_reason")

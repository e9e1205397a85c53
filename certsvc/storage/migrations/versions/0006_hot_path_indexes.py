"""Fewer index writes per issuance.

Revision ID: 0006_hot_path_indexes
Revises: 0005_api

Issuing is the hot path: every index the new rows touch costs a page write per
transaction. revoked_at and revoke_due_at become partial indexes (issuing leaves both
empty), and the audit trail keeps its time, serial and ticket indexes; filters by actor
or tenant go through the time index.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_hot_path_indexes"
down_revision: str | Sequence[str] | None = "0005_api"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTIAL = ("revoked_at", "revoke_due_at")


def upgrade() -> None:
    for column in PARTIAL:
        op.drop_index(f"ix_certificates_{column}", table_name="certificates")
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            f"ix_certificates_{column}",
            "certificates",
            [column],
            sqlite_where=where,
            postgresql_where=where,
        )
    op.drop_index("ix_audit_events_actor", table_name="audit_events")
    op.drop_index("ix_audit_events_company_number", table_name="audit_events")


def downgrade() -> None:
    op.create_index("ix_audit_events_company_number", "audit_events", ["company_number"])
    op.create_index("ix_audit_events_actor", "audit_events", ["actor"])
    for column in PARTIAL:
        op.drop_index(f"ix_certificates_{column}", table_name="certificates")
        op.create_index(f"ix_certificates_{column}", "certificates", [column])

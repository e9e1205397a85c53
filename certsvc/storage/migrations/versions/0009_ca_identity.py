"""CA identity: the CA certificates a database belongs to (one CA per database)

Revision ID: 0009_ca_identity
Revises: 0008_reliability

``certsvc init`` records the CA's certificates and key identifiers here; a node without
that CA's key never makes a second CA beside it. The index on (ca_name, not_after)
answers "when does the last certificate of this issuing CA expire" after a rollover.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_ca_identity"
down_revision: str | Sequence[str] | None = "0008_reliability"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ca_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("adapter", sa.String(64), nullable=False),
        sa.Column("ca_name", sa.String(64), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("key_id", sa.String(128), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("adapter", "ca_name"),
    )
    op.create_index("ix_certificates_ca_not_after", "certificates", ["ca_name", "not_after"])


def downgrade() -> None:
    op.drop_index("ix_certificates_ca_not_after", table_name="certificates")
    op.drop_table("ca_identities")

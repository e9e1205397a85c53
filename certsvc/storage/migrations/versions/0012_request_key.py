"""request keys: an index on the certificates' request key

Revision ID: 0012_request_key
Revises: 0011_key_reuse

A retried idempotent request looks up the certificate its first run wrote by request key
before anything else; the index keeps that one lookup per issuance, not a scan.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012_request_key"
down_revision: str | Sequence[str] | None = "0011_key_reuse"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_certificates_request_key", "certificates", ["request_key"])


def downgrade() -> None:
    op.drop_index("ix_certificates_request_key", table_name="certificates")

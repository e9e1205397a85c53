"""key reuse: an index on the certificates' public-key digest

Revision ID: 0011_key_reuse
Revises: 0010_console

Every issuance asks whether another subscriber's valid certificate holds the same public
key; the index keeps that one lookup, not a scan of every certificate stored.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011_key_reuse"
down_revision: str | Sequence[str] | None = "0010_console"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_certificates_public_key_sha256", "certificates", ["public_key_sha256"])


def downgrade() -> None:
    op.drop_index("ix_certificates_public_key_sha256", table_name="certificates")

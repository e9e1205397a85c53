"""A temporary registration number beside a temporary password.

Revision ID: 0007_reset_targets
Revises: 0006_hot_path_indexes

A self-service or helpdesk reset may replace the registration number too (the subscriber
chooses: password, registration number, or both). A temporary number must be used in a
login before ``temporary_number_until``; the login that uses it makes it the number in
force. NULL: the number in force is not temporary.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_reset_targets"
down_revision: str | Sequence[str] | None = "0006_hot_path_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "credentials",
        sa.Column("temporary_number_until", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("credentials", "temporary_number_until")

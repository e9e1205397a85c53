"""pending request intents (reconcile after a lost CA answer), CRL mirror sources

Revision ID: 0004_globalsign
Revises: 0003_gateway
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_globalsign"
down_revision: str | Sequence[str] | None = "0003_gateway"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pending_requests",
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("predecessor_id", sa.Integer(), nullable=True),
        sa.Column("revoke_old", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("awaiting_pickup", sa.Boolean(), nullable=False),
        sa.Column("server_key", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["certificate_id"], ["certificates.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["predecessor_id"], ["certificates.id"]),
        sa.PrimaryKeyConstraint("certificate_id"),
    )
    op.create_table(
        "crl_mirror_sources",
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("ca_name", sa.String(length=64), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("url"),
    )


def downgrade() -> None:
    op.drop_table("crl_mirror_sources")
    op.drop_table("pending_requests")

"""gateway feed: change-log horizon and the index its pruning uses

Revision ID: 0003_gateway
Revises: 0002_scheduler
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_gateway"
down_revision: str | Sequence[str] | None = "0002_scheduler"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_prunes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("through_version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_feed_prunes_through_version", "feed_prunes", ["through_version"])
    op.create_index("ix_feed_changes_at", "feed_changes", ["at"])


def downgrade() -> None:
    op.drop_index("ix_feed_changes_at", table_name="feed_changes")
    op.drop_index("ix_feed_prunes_through_version", table_name="feed_prunes")
    op.drop_table("feed_prunes")

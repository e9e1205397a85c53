"""pickups: when a link was cancelled

Revision ID: 0013_pickup_cancel
Revises: 0012_request_key

A helpdesk or tenant admin may cancel an unused pickup link (sent to the wrong person, the
order withdrawn); the row stays, for the audit and the listing, marked cancelled.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_pickup_cancel"
down_revision: str | Sequence[str] | None = "0012_request_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("pickups") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pickups") as batch:
        batch.drop_column("cancelled_at")

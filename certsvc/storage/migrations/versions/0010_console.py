"""helpdesk console: operators, sessions, search and dashboard indexes

Revision ID: 0010_console
Revises: 0009_ca_identity

The search box matches user IDs and e-mail addresses by case-insensitive prefix
(``lower(col) LIKE 'x%'``) and tickets by case-insensitive equality: expression indexes
on ``lower(col)``, with ``text_pattern_ops`` on PostgreSQL so LIKE prefixes use them
(SQLite uses them for equality). The dashboard counts open pickups and locked
credentials through partial indexes, which only hold the few rows that count.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_console"
down_revision: str | Sequence[str] | None = "0009_ca_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOWER_INDEXES = (
    ("ix_subscribers_user_id_lower", "subscribers", "user_id"),
    ("ix_subscribers_email_lower", "subscribers", "email"),
    ("ix_certificates_email_lower", "certificates", "email"),
    ("ix_audit_events_ticket_lower", "audit_events", "ticket"),
)


def upgrade() -> None:
    _tables()
    postgres = op.get_bind().dialect.name == "postgresql"
    ops = " text_pattern_ops" if postgres else ""
    for name, table, column in LOWER_INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} (lower({column}){ops})")
    op.create_index(
        "ix_pickups_open",
        "pickups",
        ["expires_at"],
        sqlite_where=sa.text("used_at IS NULL"),
        postgresql_where=sa.text("used_at IS NULL"),
    )
    op.create_index(
        "ix_credentials_locked_until",
        "credentials",
        ["locked_until"],
        sqlite_where=sa.text("locked_until IS NOT NULL"),
        postgresql_where=sa.text("locked_until IS NOT NULL"),
    )


def _tables() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("company_number", sa.String(length=32), nullable=True),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("password_set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.Column("totp_secret", sa.String(length=255), nullable=False),
        sa.Column("totp_pending", sa.String(length=255), nullable=True),
        sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("totp_last_step", sa.Integer(), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "console_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["operator_id"], ["operators.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_console_sessions_operator_id", "console_sessions", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_credentials_locked_until", table_name="credentials")
    op.drop_index("ix_pickups_open", table_name="pickups")
    for name, table, _column in LOWER_INDEXES:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_console_sessions_operator_id", table_name="console_sessions")
    op.drop_table("console_sessions")
    op.drop_table("operators")

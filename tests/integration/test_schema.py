"""The migrations build exactly the schema the models describe (no drift between them)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from certsvc.storage.db import make_engine, migrate
from certsvc.storage.models import Base


# lower(...) indexes exist only in the migrations (models.py says so); reflection skips them
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
def test_the_migrations_build_the_schema_the_models_describe(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        drift = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert [each for each in drift if not _migration_only(each)] == []


# lower(...) indexes (with text_pattern_ops on PostgreSQL) exist only in 0010_console
MIGRATION_ONLY = {
    "ix_subscribers_user_id_lower",
    "ix_subscribers_email_lower",
    "ix_certificates_email_lower",
    "ix_audit_events_ticket_lower",
}


def _migration_only(difference: object) -> bool:
    return (
        isinstance(difference, tuple)
        and difference[0] == "remove_index"
        and difference[1].name in MIGRATION_ONLY
    )

"""Alembic environment: runs on the connection certsvc hands over (see ``certsvc.storage.db``)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from certsvc.storage.models import Base


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


_given = context.config.attributes.get("connection")
if _given is not None:
    _run(_given)
else:
    with create_engine(context.config.get_main_option("sqlalchemy.url") or "").connect() as _new:
        _run(_new)

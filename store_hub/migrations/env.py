"""Alembic environment: runs on a connection handed in by store_hub.adapters.db.engine."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from store_hub.adapters.db.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:
    url = context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set sqlalchemy.url, or run migrations through `store-hub db upgrade`")
    with create_engine(url).connect() as own_connection:
        context.configure(connection=own_connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()

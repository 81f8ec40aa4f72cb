"""Alembic environment: always run through inbound.store.migrate with a live connection."""

from alembic import context

from inbound.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `inbound migrate`, not the alembic command")

# Batch mode lets later migrations alter SQLite tables (which lack ALTER COLUMN).
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

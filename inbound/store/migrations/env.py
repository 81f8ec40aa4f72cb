"""Alembic environment: always run through inbound.store.migrate with a live connection."""

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext

from inbound.store.models import Base, UtcDateTime


def _render_type(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    # Migrations should not import application types: UtcDateTime is a DateTime in the schema.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `inbound migrate`, not the alembic command")

# Batch mode lets later migrations alter SQLite tables (which lack ALTER COLUMN).
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    render_item=_render_type,
)
with context.begin_transaction():
    context.run_migrations()

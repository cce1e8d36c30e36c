"""Alembic's environment for the service store: always run on the connection we give."""

from __future__ import annotations

from alembic import context

from moviola.stream._schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

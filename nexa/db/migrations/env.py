from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from nexa.db.engine import Database
from nexa.db.migrations import include_object
from nexa.models import metadata

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things; batch mode rebuilds the table, and is a no-op on Postgres.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        compare_server_default=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    # Database gives migrations the same connection setup as the app (SQLite pragmas, data directory).
    database = Database(config.get_main_option("sqlalchemy.url"))
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await database.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_async())

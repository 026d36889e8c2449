from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from nexa.db import migrations
from nexa.db.engine import Database
from nexa.models import metadata
from tests.conftest import drop_postgres_database, fresh_database_url


def test_migrations_have_a_single_head() -> None:
    script = ScriptDirectory.from_config(migrations.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def _diff(connection: Connection) -> list:
    context = MigrationContext.configure(
        connection,
        opts={"compare_type": True, "compare_server_default": True, "include_object": migrations.include_object},
    )
    return compare_metadata(context, metadata)


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


def _index_names(connection: Connection) -> set[str]:
    # Read from the catalogs: reflection skips expression indexes, so autogenerate cannot compare them.
    if connection.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'index'"
    else:
        query = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
    return {row[0] for row in connection.exec_driver_sql(query)}


# Autogenerate says, rightly, that it cannot compare expression indexes; _index_names covers them.
@pytest.mark.filterwarnings("ignore:.*expression-based index:UserWarning")
@pytest.mark.filterwarnings("ignore:.*expression-based index")
async def test_upgrade_matches_models_and_downgrade_undoes_it(backend: str, tmp_path: Path) -> None:
    url = await fresh_database_url(backend, tmp_path)
    database = Database(url)
    try:
        await migrations.upgrade_async(url)
        assert await migrations.schema_is_current(database)
        async with database.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            declared = {index.name for table in metadata.tables.values() for index in table.indexes}
            assert declared <= await conn.run_sync(_index_names)

        await migrations.downgrade_async(url, "base")
        async with database.engine.connect() as conn:
            assert await conn.run_sync(_tables) <= {"alembic_version"}

        await migrations.upgrade_async(url)
        async with database.engine.connect() as conn:
            assert set(metadata.tables) <= await conn.run_sync(_tables)
    finally:
        await database.dispose()
        if backend == "postgres":
            await drop_postgres_database(url)

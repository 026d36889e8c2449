"""Alembic, driven from code: `nexa db upgrade`, start-up of `nexa serve`, and the tests use these."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from nexa.db.engine import Database

_HERE = Path(__file__).parent

# Objects written by hand in later revisions with no model behind them (0002: the knowledge full-text
# index, FTS5 on SQLite, tsvector on PostgreSQL; 0004: the PostgreSQL trigram index for message search):
# autogenerate must neither create nor drop them.
HAND_WRITTEN_PREFIXES = ("knowledge_fts", "messages_content_trgm")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's autogenerate filter: everything but the hand-written objects."""
    return not (name or "").startswith(HAND_WRITTEN_PREFIXES)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    """Blocking; call from a thread when an event loop is running (see `upgrade_async`)."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    # env.py runs its own event loop for the async engine, so it must not share ours.
    await asyncio.to_thread(upgrade, url, revision)


async def downgrade_async(url: str, revision: str) -> None:
    await asyncio.to_thread(downgrade, url, revision)


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(db: Database) -> str | None:
    async with db.engine.connect() as conn:
        return await conn.run_sync(_current)


async def schema_is_current(db: Database) -> bool:
    return await current_revision(db) == head_revision()

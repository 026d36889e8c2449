"""Test infrastructure: every database test runs on SQLite, and on PostgreSQL when
NEXA_TEST_DATABASE_URL is set. Each pytest session gets its own fresh PostgreSQL database, so
several runs on one server never see each other's rows."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from nexa.auth.passwords import use_cheapest_hashing
from nexa.db import migrations
from nexa.db.engine import Database
from nexa.models import metadata

if TYPE_CHECKING:
    import httpx
    from fastapi import FastAPI

    from nexa.config import Settings
    from nexa.runtime import Runtime

TEST_DATABASE_URL = os.environ.get("NEXA_TEST_DATABASE_URL")
TEST_REDIS_URL = os.environ.get("NEXA_TEST_REDIS_URL")
BACKENDS = ["sqlite"] + (["postgres"] if TEST_DATABASE_URL else [])
# Tests create and sign in users all the time; at argon2's real cost that was a tenth of the suite's CPU.
use_cheapest_hashing()


def postgres_admin_dsn() -> str:
    assert TEST_DATABASE_URL
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def create_postgres_database() -> str:
    """Create an empty database next to NEXA_TEST_DATABASE_URL's; return its SQLAlchemy URL."""
    name = f"nexa_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(postgres_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = make_url(TEST_DATABASE_URL).set(drivername="postgresql+asyncpg", database=name)
    return url.render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(postgres_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def fresh_database_url(backend: str, directory: Path) -> str:
    if backend == "postgres":
        return await create_postgres_database()
    return f"sqlite+aiosqlite:///{directory / f'nexa-{uuid.uuid4().hex[:8]}.db'}"


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
async def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    url = await fresh_database_url(backend, tmp_path_factory.mktemp("db"))
    yield url
    if backend == "postgres":
        await drop_postgres_database(url)


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    # The schema the tests run on is the one the migrations build, so every run exercises them too.
    await migrations.upgrade_async(database_url)
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def db(database: Database) -> AsyncIterator[Database]:
    """The session database, emptied after each test."""
    yield database
    await truncate_all(database)


async def truncate_all(database: Database) -> None:
    tables = [table.name for table in reversed(metadata.sorted_tables)]
    async with database.engine.begin() as conn:
        if database.is_postgres:
            quoted = ", ".join(f'"{name}"' for name in tables)
            await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f'DELETE FROM "{name}"'))


@pytest.fixture
async def own_database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated database of this test's own, for a Nexa started as a separate process."""
    url = await fresh_database_url(backend, tmp_path)
    await migrations.upgrade_async(url)
    yield url
    if backend == "postgres":
        await drop_postgres_database(url)


@pytest.fixture
def redis_url() -> str:
    if not TEST_REDIS_URL:
        pytest.skip("NEXA_TEST_REDIS_URL is not set")
    return TEST_REDIS_URL


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from nexa.config import Settings

    return Settings(env="test", data_dir=tmp_path, log_json=False, secret_key="test-secret-key-" + "x" * 32)


@pytest.fixture
async def runtime(db: Database, settings: Settings) -> AsyncIterator[Runtime]:
    from nexa.runtime import Runtime

    built = Runtime.build(settings, db=db)
    yield built
    await built.close_http()  # its aiohttp session, else reported unclosed when collected
    if built.redis is not None:
        await built.redis.aclose()


_shared_app: FastAPI | None = None


@pytest.fixture
async def app(runtime: Runtime) -> FastAPI:
    """One app per test process, bound to each test's runtime. FastAPI builds an app's route table on its
    first requests, about half a second of CPU: an app per test cost minutes of the suite. Tests that need
    the app's lifespan (which belongs to the runtime it was created with) call `create_app` themselves."""
    global _shared_app
    from nexa.app import bind_runtime, create_app

    if _shared_app is None:
        _shared_app = create_app(runtime=runtime)
    else:
        bind_runtime(_shared_app, runtime)
    return _shared_app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    import httpx

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http

"""What `nexa doctor` checks: secrets, data directory, database, migrations and Redis."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass

from sqlalchemy import text

from nexa.config import DEFAULT_SECRET_KEY, Settings
from nexa.db import migrations
from nexa.db.engine import Database


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


async def run_checks(settings: Settings) -> list[Check]:
    checks = [_check_secrets(settings), _check_data_dir(settings)]
    checks.extend(await _check_database(settings))
    checks.append(await _check_redis(settings))
    return checks


def _check_secrets(settings: Settings) -> Check:
    if settings.secret_key == DEFAULT_SECRET_KEY:
        detail = "NEXA_SECRET_KEY is the development default: set a random value before going to production"
        return Check("secrets", not settings.is_production, detail)
    if not settings.encryption_key:
        return Check("secrets", not settings.is_production,
                     "NEXA_ENCRYPTION_KEY is not set: channel credentials are encrypted with a key derived "
                     "from NEXA_SECRET_KEY (run `nexa keys generate`)")
    return Check("secrets", True, "secret and encryption keys are set")


def _check_data_dir(settings: Settings) -> Check:
    directory = settings.data_dir.resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return Check("data directory", False, f"cannot create {directory}: {exc.strerror}")
    if not os.access(directory, os.W_OK):
        return Check("data directory", False, f"{directory} is not writable by this user")
    return Check("data directory", True, str(directory))


async def _check_database(settings: Settings) -> list[Check]:
    database = Database(settings.resolved_database_url)
    where = database.url.render_as_string(hide_password=True)
    try:
        async with database.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=5)
        applied = await migrations.current_revision(database)
    except Exception as exc:  # noqa: BLE001 - any failure is what the operator needs to read
        return [Check("database", False, f"cannot connect to {where}: {_reason(exc)}")]
    finally:
        await database.dispose()
    latest = migrations.head_revision()
    schema = (
        Check("migrations", True, f"at the latest revision ({latest})")
        if applied == latest
        else Check("migrations", False, f"database is at {applied or 'no revision'}, latest is {latest}: "
                                        "run `nexa db upgrade`")
    )
    return [Check("database", True, f"{database.dialect} at {where}"), schema]


async def _check_redis(settings: Settings) -> Check:
    if not settings.redis_url:
        return Check("redis", True, "not configured: realtime and rate limits stay inside this process "
                                    "(fine for one process; set NEXA_REDIS_URL to run several)")
    # Imported only when configured: the client library takes about 0.25 s to import.
    from redis.asyncio import Redis

    client = Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    try:
        await client.ping()
        return Check("redis", True, "answers")
    except Exception as exc:  # noqa: BLE001 - any failure is what the operator needs to read
        return Check("redis", False, f"cannot reach {settings.redis_url.split('@')[-1]}: {_reason(exc)}")
    finally:
        await client.aclose()


def _reason(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__

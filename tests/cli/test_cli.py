"""The operator's path through the `nexa` command, as real subprocesses on a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from nexa.db.engine import Database
from nexa.runtime import Runtime
from tests.conftest import drop_postgres_database, fresh_database_url

NEXA = [sys.executable, "-m", "nexa.cli.main"]


def nexa(env: dict[str, str], *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*NEXA, *args], env=env, input=input, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
async def cli_env(backend: str, tmp_path: Path) -> dict[str, str]:
    url = await fresh_database_url(backend, tmp_path)
    env = {
        **os.environ,
        "NEXA_DATABASE_URL": url,
        "NEXA_DATA_DIR": str(tmp_path),
        "NEXA_LOG_JSON": "false",
        "COLUMNS": "200",
    }
    env.pop("NEXA_REDIS_URL", None)
    yield env
    if backend == "postgres":
        await drop_postgres_database(url)


async def test_operator_sets_up_an_account_from_the_command_line(cli_env: dict[str, str], settings) -> None:
    doctor = nexa(cli_env, "doctor")
    assert doctor.returncode == 1
    assert "run `nexa db upgrade`" in doctor.stdout

    assert nexa(cli_env, "db", "upgrade").returncode == 0
    doctor = nexa(cli_env, "doctor")
    assert doctor.returncode == 0, doctor.stdout
    assert "at the latest revision" in doctor.stdout

    created = nexa(cli_env, "accounts", "create", "Loja da Ana", "--locale", "pt-BR")
    assert created.returncode == 0, created.stderr
    account_id = int(created.stdout.strip().rsplit(" ", 1)[-1].rstrip("."))

    user = nexa(
        cli_env, "users", "create", "ana@example.com", "--name", "Ana", "--account", str(account_id),
        "--role", "administrator", "--password", "a long password",
    )
    assert user.returncode == 0, user.stderr
    token = nexa(cli_env, "tokens", "create", "--user", "ana@example.com", "--scope", "account:read")
    assert token.returncode == 0, token.stderr
    plaintext = token.stdout.strip().splitlines()[-1].strip()
    assert plaintext.startswith("nexa_")

    missing = nexa(cli_env, "tokens", "create", "--user", "nobody@example.com")
    assert missing.returncode == 1
    assert "No user with email nobody@example.com" in missing.stderr

    from nexa.app import create_app
    from nexa.config import Settings

    database = Database(cli_env["NEXA_DATABASE_URL"])
    runtime = Runtime.build(Settings(env="test", data_dir=settings.data_dir, secret_key=settings.secret_key), db=database)
    try:
        transport = httpx.ASGITransport(app=create_app(runtime=runtime))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            account = await client.get(f"/api/v1/accounts/{account_id}", headers={"api_access_token": plaintext})
            assert account.status_code == 200
            assert account.json()["name"] == "Loja da Ana"
            health = await client.get("/health")
            assert health.json() == {"status": "ok"}
    finally:
        await runtime.close()

    assert nexa(cli_env, "db", "downgrade", "base").returncode == 0
    assert nexa(cli_env, "doctor").returncode == 1


def test_production_refuses_default_secrets(tmp_path: Path) -> None:
    env = {**os.environ, "NEXA_ENV": "production", "NEXA_DATA_DIR": str(tmp_path)}
    for key in ("NEXA_SECRET_KEY", "NEXA_ENCRYPTION_KEY"):
        env.pop(key, None)
    result = nexa(env, "serve", "--no-migrate")
    assert result.returncode == 2
    assert "Refusing to start in production" in result.stderr
    assert "NEXA_SECRET_KEY" in result.stderr


def imported_modules(env: dict[str, str], *args: str) -> set[str]:
    """Every module a `nexa` command imports, from Python's -X importtime report."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", *NEXA[1:], *args],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}


def test_help_imports_no_application_code(tmp_path: Path) -> None:
    modules = imported_modules({**os.environ, "NEXA_DATA_DIR": str(tmp_path)}, "--help")
    assert "typer" in modules
    assert not {"nexa.config", "sqlalchemy", "fastapi", "numpy"} & modules


async def test_operator_commands_import_no_web_application(cli_env: dict[str, str]) -> None:
    web = {"fastapi", "nexa.app", "numpy"}
    for command in (["db", "upgrade"], ["doctor"], ["accounts", "create", "Loja"], ["keys", "generate"]):
        modules = imported_modules(cli_env, *command)
        assert not web & modules, f"nexa {' '.join(command)} imports {web & modules}"


def test_an_unknown_role_is_refused_before_the_password_prompt(tmp_path: Path) -> None:
    env = {**os.environ, "NEXA_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    result = nexa(env, "users", "create", "ana@example.com", "--name", "Ana", "--account", "1", "--role", "boss")
    assert result.returncode == 2
    assert "'boss' is not one of owner, administrator, agent" in result.stderr

"""schemathesis over /openapi.json against the ASGI app, as the owner of the fuzzed account.

Bounded and deterministic: a few derandomized examples per operation on a fresh SQLite database.
Asserts no 5xx and that every response matches its documented schema. Statuses other than the
documented 200 (401/404/422 with Chatwoot's bodies) are expected for random input and not checked.
All operations run; the failures of all of them are reported together.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from nexa.app import create_app
from nexa.auth import service as auth_service
from nexa.auth.models import Role
from nexa.config import Settings
from nexa.db import migrations
from nexa.db.engine import Database
from nexa.runtime import Runtime
from nexa.tenancy import service as tenancy_service

EXAMPLES_PER_OPERATION = 4
# Calls a provider (WhatsApp, Telegram, Evolution) over the network: out of scope for fuzzing.
EXCLUDED_PATHS = r"/setup_webhook$"


async def _owner_token(runtime: Runtime) -> tuple[int, str]:
    """A fresh account with its owner: (account id, the owner's API token)."""
    async with runtime.db.session() as session:
        account = await tenancy_service.create_account(session, name="Fuzzed")
        user = await auth_service.create_user(
            session, name="Owner", email="fuzz@example.com", password="correct horse battery", cipher=runtime.cipher
        )
        await auth_service.add_member(session, account, user, Role.owner)
        token = await auth_service.personal_token_plaintext(session, user, cipher=runtime.cipher)
    # The app serves from another event loop: no pooled connection may outlive this one.
    await runtime.db.dispose()
    assert token is not None
    return account.id, token


def test_no_server_errors_and_responses_match_their_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    asyncio.run(migrations.upgrade_async(url))
    settings_ = Settings(env="test", data_dir=tmp_path, log_json=False, secret_key="fuzz-secret-key-" + "x" * 32)
    runtime = Runtime.build(settings_, db=Database(url))
    account_id, token = asyncio.run(_owner_token(runtime))
    headers = {"api_access_token": token}
    schema = (
        schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime=runtime))
        .include(path_regex=r"^/api/(v1|v2)/")
        .exclude(path_regex=EXCLUDED_PATHS)
    )

    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            if "account_id" in (case.path_parameters or {}):
                case.path_parameters["account_id"] = account_id
            case.call_and_validate(headers=headers, checks=[not_a_server_error, response_schema_conformance])

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure is collected, then all are reported
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert operations > 100, "the schema lost its operations"
    assert not failures, "\n\n".join(failures)

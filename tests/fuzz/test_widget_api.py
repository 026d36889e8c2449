"""The web widget's public API (what any visitor's browser may send) fuzzed with schemathesis: bodies that
fit the schema and bodies that do not, against a real widget inbox, visitor and conversation. No 5xx, and
every answer matches its documented schema.

Like tests/compat/test_openapi_fuzz.py (which covers /api/), but the identifiers in the path are real ones:
random identifiers would stop at the 404 and never reach the code that reads the body.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from nexa.app import create_app
from nexa.config import Settings
from nexa.db import migrations
from nexa.db.engine import Database
from nexa.runtime import Runtime
from tests.factories import make_member

EXAMPLES_PER_OPERATION = 4


async def _visitor_in_a_conversation(runtime: Runtime) -> dict[str, object]:
    """Path parameters of a widget inbox, one of its visitors and their open conversation."""
    admin = await make_member(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(runtime=runtime)), base_url="http://t") as client:
        inbox = await client.post(
            f"/api/v1/accounts/{admin.account.id}/inboxes",
            json={"name": "Site", "channel_type": "web_widget", "channel_config": {}}, headers=admin.headers,
        )
        public = f"/public/api/v1/inboxes/{inbox.json()['inbox_identifier']}"
        visitor = (await client.post(f"{public}/contacts", json={"name": "Bia"})).json()
        conversation = (await client.post(f"{public}/contacts/{visitor['source_id']}/conversations")).json()
    # The fuzzed app serves from another event loop: no pooled connection may outlive this one.
    await runtime.db.dispose()
    return {
        "inbox_identifier": inbox.json()["inbox_identifier"],
        "contact_identifier": visitor["source_id"],
        "conversation_id": conversation["id"],
    }


def test_widget_api_never_answers_5xx_and_keeps_to_its_schema(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'widget.db'}"
    asyncio.run(migrations.upgrade_async(url))
    runtime = Runtime.build(
        Settings(env="test", data_dir=tmp_path, log_json=False, secret_key="fuzz-secret-key-" + "x" * 32), db=Database(url)
    )
    real = asyncio.run(_visitor_in_a_conversation(runtime))
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(runtime=runtime)).include(
        path_regex=r"^/public/api/v1/inboxes/"
    )

    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            for name in case.path_parameters or {}:
                if name in real:
                    case.path_parameters[name] = real[name]
            case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

        try:
            call()
        except (Exception, BaseExceptionGroup) as exc:  # every operation's failure is collected, then all are reported
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert operations >= 8, "the widget API lost its operations"
    assert not failures, "\n\n".join(failures)

"""The conversation list's bulk bar, without a browser: the page offers every bulk action in the user's
language, and the bodies bulk.js builds (run by node) are ones POST /bulk_actions accepts."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from nexa.auth.models import User
from nexa.runtime import Runtime
from tests.factories import Member, make_member
from tests.web.conftest import sign_in

JS = Path(__file__).parents[2] / "nexa" / "web" / "static" / "app" / "js"
NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 12:30 in São Paulo, the browser's clock below
# (action, picked option) as the bar's button and selects give them to bulkActionBody.
PICKS = [
    ("resolve", None),
    ("assign", "{agent}"),
    ("assign", "none"),
    ("team", "{team}"),
    ("team", "none"),
    ("label-add", "vip"),
    ("label-remove", "vip"),
    ("snooze", "hour"),
    ("snooze", "tomorrow"),
    ("snooze", "week"),
]

needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def bulk_bodies(ids: list[int], picks: list[tuple[str, str | None]]) -> list[dict[str, Any]]:
    """What bulk.js's bulkActionBody answers for each pick, computed by node with the browser in São Paulo."""
    script = (
        f"import {{ bulkActionBody }} from {json.dumps((JS / 'bulk.js').as_uri())};\n"
        f"const now = new Date({json.dumps(NOW.isoformat())});\n"
        f"const picks = {json.dumps(picks)};\n"
        f"console.log(JSON.stringify(picks.map(([action, value]) => bulkActionBody(new Set({json.dumps(ids)}), action, value, now))));\n"
    )
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "TZ": "America/Sao_Paulo"},
        check=True,
    )
    return json.loads(done.stdout)


@needs_node
def test_bulk_js_builds_chatwoots_bodies() -> None:
    bodies = bulk_bodies([7, 3], [(a, v.format(agent=5, team=9) if v else v) for a, v in PICKS])
    assert all(body["type"] == "Conversation" and body["ids"] == [7, 3] for body in bodies)
    assert [{k: v for k, v in body.items() if k not in ("type", "ids")} for body in bodies] == [
        {"fields": {"status": "resolved"}},
        {"fields": {"assignee_id": 5}},
        {"fields": {"assignee_id": None}},
        {"fields": {"team_id": 9}},
        {"fields": {"team_id": None}},
        {"labels": {"add": ["vip"], "remove": []}},
        {"labels": {"add": [], "remove": ["vip"]}},
        {
            "fields": {
                "status": "snoozed",
                "snoozed_until": int(datetime(2026, 11, 20, 16, 30, tzinfo=UTC).timestamp()),
            }
        },
        # Tomorrow and next week at 09:00 on the browser's clock (12:00 UTC in São Paulo).
        {
            "fields": {
                "status": "snoozed",
                "snoozed_until": int(datetime(2026, 11, 21, 12, tzinfo=UTC).timestamp()),
            }
        },
        {
            "fields": {
                "status": "snoozed",
                "snoozed_until": int(datetime(2026, 11, 27, 12, tzinfo=UTC).timestamp()),
            }
        },
    ]


async def _conversations(client: httpx.AsyncClient, admin: Member) -> tuple[list[int], int]:
    base = f"/api/v1/accounts/{admin.account.id}"
    inbox = (
        await client.post(
            f"{base}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers
        )
    ).json()
    contact = (
        await client.post(
            f"{base}/contacts", json={"name": "Ana", "inbox_id": inbox["id"]}, headers=admin.headers
        )
    ).json()["payload"]["contact"]
    ids = []
    for _ in range(2):
        created = await client.post(
            f"{base}/conversations",
            json={"inbox_id": inbox["id"], "contact_id": contact["id"]},
            headers=admin.headers,
        )
        ids.append(created.json()["id"])
    return ids, inbox["id"]


@needs_node
async def test_the_server_accepts_every_body_the_bar_sends(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}"
    ids, inbox_id = await _conversations(client, admin)
    await client.post(
        f"{base}/inbox_members",
        json={"inbox_id": inbox_id, "user_ids": [admin.user.id]},
        headers=admin.headers,
    )
    team = (await client.post(f"{base}/teams", json={"name": "Sales"}, headers=admin.headers)).json()
    picks = [(a, v.format(agent=admin.user.id, team=team["id"]) if v else v) for a, v in PICKS]
    for (action, value), body in zip(picks, bulk_bodies(ids, picks), strict=True):
        accepted = await client.post(f"{base}/bulk_actions", json=body, headers=admin.headers)
        assert (accepted.status_code, accepted.json()) == (200, {}), (action, value, accepted.text)


async def test_the_bar_offers_every_bulk_action_in_the_users_language(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        (await session.get(User, member.user.id)).locale = "pt-BR"
    await sign_in(client, member)
    page = (await client.get(f"/app/accounts/{member.account.id}/conversations")).text
    bar = page[page.index('<div class="list__bulk"') :]
    bar = bar[: bar.index("</div>")]
    for action in ("resolve", "assign", "team", "label-add", "label-remove", "snooze"):
        assert f'data-bulk="{action}"' in bar
    for text in (
        "Resolver",
        "Atribuir a…",
        "Definir time…",
        "Sem time",
        "Adicionar etiqueta…",
        "Remover etiqueta…",
        "Adiar…",
        "Por uma hora",
        "Até amanhã",
        "Até a próxima semana",
    ):
        assert text in bar, text

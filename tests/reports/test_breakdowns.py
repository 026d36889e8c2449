"""Chatwoot's per-entity reports through the v2 API: summary_reports/{agent,team,inbox,label,channel}, the
live reports/conversations counts and the CSV exports, from conversations handled through the v1 API."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from nexa.auth.models import Role
from nexa.kit.clock import utcnow
from nexa.runtime import Runtime
from tests.factories import Member, make_member


async def _handled_account(client: httpx.AsyncClient, runtime: Runtime) -> tuple[Member, Member, dict[str, Any]]:
    """Two conversations in an API inbox: one the admin answered and resolved (team Sales, label vip), one
    open and unassigned nobody answered; plus one with the bot (pending). The agent has nothing."""
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    account = f"/api/v1/accounts/{admin.account.id}"

    async def post(path: str, body: dict[str, Any]) -> Any:
        response = await client.post(f"{account}{path}", json=body, headers=admin.headers)
        assert response.status_code == 200, response.text
        return response.json()

    inbox = await post("/inboxes", {"name": "API", "channel_type": "api"})
    team = await post("/teams", {"name": "Sales"})
    await post(f"/teams/{team['id']}/team_members", {"user_ids": [admin.user.id]})  # so the team change keeps them
    await post("/labels", {"title": "vip"})
    contact = (await post("/contacts", {"name": "Ana"}))["payload"]["contact"]
    handled = await post("/conversations", {"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "open"})
    url = f"/conversations/{handled['id']}"
    await post(f"{url}/messages", {"content": "Hi", "message_type": "incoming"})
    await post(f"{url}/assignments", {"assignee_id": admin.user.id})
    await post(f"{url}/assignments", {"team_id": team["id"]})
    await post(f"{url}/labels", {"labels": ["vip"]})
    await post(f"{url}/messages", {"content": "Hello! How can I help?"})
    await post(f"{url}/toggle_status", {"status": "resolved"})
    waiting = await post("/conversations", {"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "open"})
    await post(f"/conversations/{waiting['id']}/messages", {"content": "anyone?", "message_type": "incoming"})
    await post("/conversations", {"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "pending"})
    return admin, agent, {"inbox": inbox, "team": team, "agent": agent}


async def test_summary_reports_give_one_row_per_agent_team_inbox_label_and_channel(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin, agent, made = await _handled_account(client, runtime)
    v2 = f"/api/v2/accounts/{admin.account.id}"
    now = int(utcnow().timestamp())
    window = {"since": now - 3600, "until": now + 60}

    async def get(path: str, **params: Any) -> Any:
        response = await client.get(f"{v2}{path}", params={**window, **params}, headers=admin.headers)
        assert response.status_code == 200, response.text
        return response.json()

    agents = {row["id"]: row for row in await get("/summary_reports/agent")}
    assert set(agents) == {admin.user.id, agent.user.id}
    mine = agents[admin.user.id]
    assert mine["conversations_count"] == 1 and mine["resolved_conversations_count"] == 1
    assert mine["avg_first_response_time"] is not None and mine["avg_resolution_time"] is not None
    assert agents[agent.user.id] == {"id": agent.user.id, "conversations_count": 0, "resolved_conversations_count": 0,
                                     "avg_resolution_time": None, "avg_first_response_time": None, "avg_reply_time": None}
    [team] = await get("/summary_reports/team")
    assert team["id"] == made["team"]["id"] and team["conversations_count"] == 1 and team["resolved_conversations_count"] == 1
    [inbox] = await get("/summary_reports/inbox")
    assert inbox["id"] == made["inbox"]["id"] and inbox["conversations_count"] == 3
    [label] = await get("/summary_reports/label")
    assert label["conversations_count"] == 1 and label["resolved_conversations_count"] == 1
    assert await get("/summary_reports/channel") == {
        "Channel::Api": {"open": 1, "resolved": 1, "pending": 1, "snoozed": 0, "total": 3}
    }
    assert (await client.get(f"{v2}/summary_reports/galaxy", headers=admin.headers)).status_code == 422

    exported = await client.get(f"{v2}/reports/agents.csv", params=window, headers=admin.headers)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.text)))
    assert rows[0] == ["Agent name", "Conversations count", "Avg first response time", "Avg resolution time",
                       "Avg reply time", "Resolution count"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name[admin.user.name][1] == "1" and by_name[admin.user.name][5] == "1"
    assert by_name[agent.user.name][1:] == ["0", "", "", "", "0"]
    for export in ("teams", "inboxes", "labels"):
        response = await client.get(f"{v2}/reports/{export}.csv", params=window, headers=admin.headers)
        assert response.status_code == 200 and len(response.text.splitlines()) == 2, export
    assert (await client.get(f"{v2}/reports/planets.csv", headers=admin.headers)).status_code == 422

    # Agents are not administrators: reports are refused to them, as Chatwoot does.
    assert (await client.get(f"{v2}/summary_reports/agent", headers=agent.headers)).status_code == 401


async def test_live_conversation_counts_for_the_account_and_per_agent(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin, agent, _ = await _handled_account(client, runtime)
    reports = f"/api/v2/accounts/{admin.account.id}/reports/conversations"
    account = await client.get(reports, params={"type": "account"}, headers=admin.headers)
    assert account.status_code == 200, account.text
    assert account.json() == {"open": 1, "unattended": 1, "unassigned": 1, "pending": 1}

    per_agent = (await client.get(reports, params={"type": "agent"}, headers=admin.headers)).json()
    assert {row["id"] for row in per_agent} == {admin.user.id, agent.user.id}
    row = next(r for r in per_agent if r["id"] == agent.user.id)
    assert row == {**row, "name": agent.user.name, "email": agent.user.email, "availability": "offline",
                   "metric": {"open": 0, "unattended": 0}}
    one = (await client.get(reports, params={"type": "agent", "user_id": agent.user.id}, headers=admin.headers)).json()
    assert [r["id"] for r in one] == [agent.user.id]

    stranger = await make_member(runtime)
    foreign = await client.get(reports, params={"type": "agent", "user_id": stranger.user.id}, headers=admin.headers)
    assert foreign.status_code == 404
    assert (await client.get(reports, headers=admin.headers)).status_code == 422  # type is required, as in Chatwoot

"""Reports through the v2 API, from conversations handled through the v1 API."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from nexa.analytics.models import ReportingEvent, ReportingEventName
from nexa.auth.models import Role
from nexa.kit.clock import utcnow
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_summary_counts_a_handled_conversation_and_compares_with_the_previous_window(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    account = f"/api/v1/accounts/{admin.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=admin.headers)).json()
    contact = (await client.post(f"{account}/contacts", json={"name": "Ana"}, headers=admin.headers)).json()["payload"]["contact"]
    handled = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "pending"},
                                 headers=admin.headers)).json()
    url = f"{account}/conversations/{handled['id']}"
    await client.post(f"{url}/messages", json={"content": "Hi", "message_type": "incoming"}, headers=admin.headers)
    await client.post(f"{url}/toggle_status", json={"status": "open"}, headers=admin.headers)
    await client.post(f"{url}/messages", json={"content": "Hello! How can I help?"}, headers=admin.headers)
    await client.post(f"{url}/messages", json={"content": "internal", "private": True}, headers=admin.headers)
    await client.post(f"{url}/toggle_status", json={"status": "resolved"}, headers=admin.headers)
    bot_only = (await client.post(f"{account}/conversations", json={"inbox_id": inbox["id"], "contact_id": contact["id"], "status": "pending"},
                                  headers=admin.headers)).json()
    await client.post(f"{account}/conversations/{bot_only['id']}/toggle_status", json={"status": "resolved"}, headers=admin.headers)

    reports = f"/api/v2/accounts/{admin.account.id}/reports"
    now = int(utcnow().timestamp())
    window = {"since": now - 3600, "until": now + 60}
    summary = await client.get(f"{reports}/summary", params={"type": "account", **window}, headers=admin.headers)
    assert summary.status_code == 200, summary.text
    body = summary.json()
    assert body == {**body, "conversations_count": 2, "incoming_messages_count": 1, "outgoing_messages_count": 1,
                    "resolutions_count": 2}
    assert body["avg_first_response_time"] is not None and body["avg_first_response_time"] >= 0
    assert body["avg_resolution_time"] is not None and body["reply_time"] is not None
    assert body["previous"] == {"conversations_count": 0, "incoming_messages_count": 0, "outgoing_messages_count": 0,
                                "avg_first_response_time": None, "avg_resolution_time": None, "resolutions_count": 0,
                                "reply_time": None}

    by_agent = (await client.get(f"{reports}/summary", params={"type": "agent", "id": admin.user.id, **window},
                                 headers=admin.headers)).json()
    assert by_agent["outgoing_messages_count"] == 1 and by_agent["conversations_count"] == 1
    by_inbox = (await client.get(f"{reports}/summary", params={"type": "inbox", "id": inbox["id"], **window},
                                 headers=admin.headers)).json()
    assert by_inbox["conversations_count"] == 2

    bots = (await client.get(f"{reports}/bot_summary", params=window, headers=admin.headers)).json()
    assert bots == {"bot_resolutions_count": 1, "bot_handoffs_count": 1}

    series = (await client.get(reports, params={"metric": "conversations_count", "group_by": "day", **window},
                               headers=admin.headers)).json()
    assert sum(point["count"] for point in series) == 2 and sum(point["value"] for point in series) == 2

    stranger = await make_member(runtime)
    assert (await client.get(f"{reports}/summary", params={"type": "inbox", "id": inbox["id"]},
                             headers=stranger.headers)).status_code == 401
    other_inbox = (await client.post(f"/api/v1/accounts/{stranger.account.id}/inboxes", json={"name": "X", "channel_type": "api"},
                                     headers=stranger.headers)).json()
    assert (await client.get(f"{reports}/summary", params={"type": "inbox", "id": other_inbox["id"]},
                             headers=admin.headers)).status_code == 404
    agent = await make_member(runtime, admin.account, role=Role.agent)
    assert (await client.get(f"{reports}/summary", headers=agent.headers)).status_code == 401
    bad = await client.get(reports, params={"metric": "happiness"}, headers=admin.headers)
    assert bad.status_code == 422
    backwards = await client.get(f"{reports}/summary", params={"since": 200, "until": 100}, headers=admin.headers)
    assert backwards.status_code == 422 and backwards.json() == {"error": "since must be before until"}


async def test_timeseries_buckets_follow_the_timezone_offset(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    # 01:00 UTC on Jan 2nd is still Jan 1st in São Paulo (UTC-3).
    moments = [datetime(2026, 1, 2, 1, 0, tzinfo=UTC), datetime(2026, 1, 2, 12, 0, tzinfo=UTC), datetime(2026, 1, 9, 12, 0, tzinfo=UTC)]
    async with runtime.db.session() as session:
        for at, value in zip(moments, [60.0, 120.0, 30.0], strict=True):
            session.add(ReportingEvent(account_id=admin.account.id, name=ReportingEventName.first_response, value=value,
                                       value_in_business_hours=value / 2, created_at=at))
    reports = f"/api/v2/accounts/{admin.account.id}/reports"
    since = int(datetime(2026, 1, 1, 3, 0, tzinfo=UTC).timestamp())
    until = int(datetime(2026, 1, 4, 3, 0, tzinfo=UTC).timestamp())
    params = {"metric": "avg_first_response_time", "since": since, "until": until, "group_by": "day", "timezone_offset": -3}
    series = (await client.get(reports, params=params, headers=admin.headers)).json()
    assert series == [
        {"value": 60.0, "timestamp": since, "count": 1},
        {"value": 120.0, "timestamp": since + 86400, "count": 1},
        {"value": 0.0, "timestamp": since + 2 * 86400, "count": 0},
    ]
    in_utc = (await client.get(reports, params={**params, "timezone_offset": 0, "business_hours": True}, headers=admin.headers)).json()
    assert [p["value"] for p in in_utc if p["count"]] == [45.0]

    monthly = {**params, "group_by": "month", "until": int(datetime(2026, 2, 1, 3, tzinfo=UTC).timestamp())}
    months = (await client.get(reports, params=monthly, headers=admin.headers)).json()
    assert months == [{"value": 70.0, "timestamp": since, "count": 3}]
    weekly = (await client.get(reports, params={**monthly, "group_by": "week"}, headers=admin.headers)).json()
    # Weeks start on Monday: Dec 29th, Jan 5th (the 9th), then Jan 12th, 19th and 26th.
    assert [(p["count"], datetime.fromtimestamp(p["timestamp"], UTC).day) for p in weekly][:2] == [(2, 29), (1, 5)]

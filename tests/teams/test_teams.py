from __future__ import annotations

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_admin_builds_a_team_and_its_members(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    base = f"/api/v1/accounts/{admin.account.id}/teams"

    created = await client.post(base, json={"team": {"name": "Sales", "description": "closers"}}, headers=admin.headers)
    assert created.status_code == 200, created.text
    team = created.json()
    assert team == {**team, "name": "sales", "allow_auto_assign": True, "is_member": False}
    duplicate = await client.post(base, json={"name": "SALES"}, headers=admin.headers)
    assert duplicate.json() == {"message": "Name has already been taken", "attributes": ["name"]}

    members = f"{base}/{team['id']}/team_members"
    added = await client.post(members, json={"user_ids": [agent.user.id]}, headers=admin.headers)
    assert [a["id"] for a in added.json()] == [agent.user.id]
    assert added.json()[0]["role"] == "agent"
    replaced = await client.patch(members, json={"user_ids": [admin.user.id]}, headers=admin.headers)
    assert [a["id"] for a in replaced.json()] == [admin.user.id]
    assert (await client.get(f"{base}/{team['id']}", headers=admin.headers)).json()["is_member"] is True
    assert (await client.request("DELETE", members, json={"user_ids": [admin.user.id]}, headers=admin.headers)).status_code == 200
    assert (await client.get(members, headers=admin.headers)).json() == []

    stranger = await make_member(runtime)
    foreign = await client.post(members, json={"user_ids": [stranger.user.id]}, headers=admin.headers)
    assert foreign.status_code == 404

    listed = await client.get(base, headers=agent.headers)
    assert [t["name"] for t in listed.json()] == ["sales"]
    renamed = await client.patch(f"{base}/{team['id']}", json={"allow_auto_assign": False}, headers=admin.headers)
    assert renamed.json()["allow_auto_assign"] is False
    assert (await client.delete(f"{base}/{team['id']}", headers=admin.headers)).status_code == 200
    assert (await client.get(f"{base}/{team['id']}", headers=admin.headers)).status_code == 404


async def test_another_accounts_team_is_not_found(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime)
    stranger = await make_member(runtime)
    team = (await client.post(f"/api/v1/accounts/{owner.account.id}/teams", json={"name": "x"}, headers=owner.headers)).json()
    base = f"/api/v1/accounts/{stranger.account.id}/teams/{team['id']}"
    for method, url in [("GET", base), ("PATCH", base), ("DELETE", base), ("GET", f"{base}/team_members"),
                        ("POST", f"{base}/team_members"), ("PATCH", f"{base}/team_members"),
                        ("DELETE", f"{base}/team_members")]:
        response = await client.request(method, url, json={"user_ids": []}, headers=stranger.headers)
        assert response.status_code == 404, (method, url)

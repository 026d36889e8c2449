from __future__ import annotations

import httpx

from nexa.auth.models import Role
from nexa.runtime import Runtime
from tests.factories import make_member


async def test_admin_manages_labels_flat_or_wrapped(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    base = f"/api/v1/accounts/{admin.account.id}/labels"

    flat = await client.post(base, json={"title": "VIP", "color": "#ff0000"}, headers=admin.headers)
    assert flat.status_code == 200, flat.text
    assert flat.json() == {**flat.json(), "title": "vip", "color": "#ff0000", "show_on_sidebar": True}
    wrapped = await client.post(base, json={"label": {"title": "lead", "description": "new lead"}}, headers=admin.headers)
    assert wrapped.status_code == 200 and wrapped.json()["description"] == "new lead"

    duplicate = await client.post(base, json={"title": "Vip"}, headers=admin.headers)
    assert duplicate.status_code == 422
    assert duplicate.json() == {"message": "Title has already been taken", "attributes": ["title"]}
    invalid = await client.post(base, json={"title": "two words"}, headers=admin.headers)
    assert invalid.status_code == 422

    listed = await client.get(base, headers=admin.headers)
    assert [label["title"] for label in listed.json()["payload"]] == ["lead", "vip"]

    label_id = flat.json()["id"]
    updated = await client.patch(f"{base}/{label_id}", json={"label": {"show_on_sidebar": False}}, headers=admin.headers)
    assert updated.json()["show_on_sidebar"] is False
    assert (await client.get(f"{base}/{label_id}", headers=admin.headers)).json()["title"] == "vip"
    assert (await client.delete(f"{base}/{label_id}", headers=admin.headers)).status_code == 200
    assert (await client.get(f"{base}/{label_id}", headers=admin.headers)).status_code == 404


async def test_agents_read_labels_but_cannot_change_them(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    agent = await make_member(runtime, admin.account, role=Role.agent)
    base = f"/api/v1/accounts/{admin.account.id}/labels"
    assert (await client.get(base, headers=agent.headers)).status_code == 200
    denied = await client.post(base, json={"title": "x"}, headers=agent.headers)
    assert denied.status_code == 401
    assert denied.json() == {"error": "You are not authorized to do this action"}


async def test_another_accounts_label_is_not_found(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime)
    stranger = await make_member(runtime)
    created = await client.post(
        f"/api/v1/accounts/{owner.account.id}/labels", json={"title": "secret"}, headers=owner.headers
    )
    label_id = created.json()["id"]
    base = f"/api/v1/accounts/{stranger.account.id}/labels/{label_id}"
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(method, base, json={"title": "x"}, headers=stranger.headers)
        assert response.status_code == 404, method
        assert response.json() == {"error": "Resource could not be found"}

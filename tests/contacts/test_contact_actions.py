"""Contact filter, notes, contactable inboxes, custom attribute removal and merging, through the API."""

from __future__ import annotations

from typing import Any

import httpx

from nexa.runtime import Runtime
from tests.factories import Member, make_member, whatsapp_channel


async def _contact(client: httpx.AsyncClient, member: Member, **fields: Any) -> dict[str, Any]:
    response = await client.post(f"/api/v1/accounts/{member.account.id}/contacts", json=fields, headers=member.headers)
    assert response.status_code == 200, response.text
    return response.json()["payload"]["contact"]


def _condition(key: str, operator: str, values: Any, query_operator: str | None = None) -> dict[str, Any]:
    return {"attribute_key": key, "filter_operator": operator, "values": values, "query_operator": query_operator}


async def test_filter_by_standard_and_custom_attributes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    url = f"/api/v1/accounts/{member.account.id}/contacts/filter"
    ana = await _contact(client, member, name="Ana", phone_number="+5511987654321",
                         custom_attributes={"plan": "gold", "orders": 12, "vip": True},
                         additional_attributes={"city": "São Paulo"})
    bia = await _contact(client, member, name="Bia", email="bia@example.com", custom_attributes={"plan": "silver", "orders": 3})
    caio = await _contact(client, member, name="Caio Souza", email="caio@shop.com")
    await client.post(f"/api/v1/accounts/{member.account.id}/contacts/{caio['id']}/labels", json={"labels": ["lead"]},
                      headers=member.headers)

    async def names(*conditions: dict[str, Any]) -> list[str]:
        response = await client.post(url, json={"payload": list(conditions)}, headers=member.headers)
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["count"] == len(response.json()["payload"])
        return sorted(c["name"] for c in response.json()["payload"])

    assert await names(_condition("phone_number", "equal_to", ["+5511987654321"])) == ["Ana"]
    assert await names(_condition("plan", "equal_to", ["GOLD"])) == ["Ana"]
    assert await names(_condition("orders", "is_greater_than", [5])) == ["Ana"]
    assert await names(_condition("orders", "is_less_than", ["5"])) == ["Bia"]
    assert await names(_condition("vip", "equal_to", [True])) == ["Ana"]
    assert await names(_condition("email", "contains", ["example"], "OR"), _condition("labels", "equal_to", ["lead"])) == ["Bia", "Caio Souza"]
    assert await names(_condition("email", "is_present", [], "AND"), _condition("name", "starts_with", ["ca"])) == ["Caio Souza"]
    assert await names(_condition("email", "is_not_present", [])) == ["Ana"]
    assert await names(_condition("city", "does_not_contain", ["paulo"])) == ["Bia", "Caio Souza"]
    assert await names(_condition("name", "not_equal_to", ["ana"])) == ["Bia", "Caio Souza"]
    assert await names(_condition("created_at", "is_greater_than", ["2000-01-01"])) == ["Ana", "Bia", "Caio Souza"]
    assert await names(_condition("labels", "is_not_present", [])) == ["Ana", "Bia"]
    # AND binds tighter than OR: Ana OR (Bia AND nobody-named-x)
    assert await names(_condition("name", "equal_to", ["ana"], "OR"), _condition("name", "equal_to", ["bia"], "AND"),
                       _condition("name", "equal_to", ["x"])) == ["Ana"]
    assert bia and ana

    async def error(*conditions: dict[str, Any]) -> dict[str, Any]:
        response = await client.post(url, json={"payload": list(conditions)}, headers=member.headers)
        assert response.status_code == 422, response.text
        return response.json()

    assert (await error(_condition("name; drop", "equal_to", ["x"])))["error"] == "Invalid attribute key - name; drop"
    assert (await error(_condition("labels", "contains", ["x"])))["error"].startswith("Invalid operator.")
    assert (await error(_condition("orders", "is_greater_than", ["many"])))["error"] == "Invalid data type for orders"
    assert (await error(_condition("created_at", "is_less_than", ["yesterday"])))["error"].startswith("Invalid data type")
    assert "error" in await error(_condition("name", "resembles", ["x"]))
    assert "error" in await error()


async def test_notes_crud(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    contact = await _contact(client, member, name="Ana")
    notes = f"/api/v1/accounts/{member.account.id}/contacts/{contact['id']}/notes"
    created = await client.post(notes, json={"note": {"content": "Wants the blue model"}}, headers=member.headers)
    assert created.status_code == 200, created.text
    note = created.json()
    assert note == {**note, "content": "Wants the blue model", "contact_id": contact["id"], "account_id": member.account.id}
    assert note["user"]["id"] == member.user.id and isinstance(note["created_at"], int)
    edited = await client.patch(f"{notes}/{note['id']}", json={"content": "Blue or green"}, headers=member.headers)
    assert edited.json()["content"] == "Blue or green"
    assert [n["content"] for n in (await client.get(notes, headers=member.headers)).json()] == ["Blue or green"]
    assert (await client.post(notes, json={"content": ""}, headers=member.headers)).status_code == 422
    assert (await client.delete(f"{notes}/{note['id']}", headers=member.headers)).status_code == 200
    assert (await client.get(f"{notes}/{note['id']}", headers=member.headers)).status_code == 404


async def test_contactable_inboxes_and_custom_attribute_removal(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    account = f"/api/v1/accounts/{member.account.id}"
    whatsapp = (await client.post(f"{account}/inboxes", json={"name": "WA", "channel": whatsapp_channel()}, headers=member.headers)).json()
    api = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=member.headers)).json()
    with_phone = await _contact(client, member, name="Ana", phone_number="+5511987654321", custom_attributes={"a": 1, "b": 2})
    without_phone = await _contact(client, member, name="Bia")

    reachable = (await client.get(f"{account}/contacts/{with_phone['id']}/contactable_inboxes", headers=member.headers)).json()
    by_inbox = {entry["inbox"]["id"]: entry["source_id"] for entry in reachable["payload"]}
    assert by_inbox[whatsapp["id"]] == "5511987654321" and api["id"] in by_inbox
    reachable = (await client.get(f"{account}/contacts/{without_phone['id']}/contactable_inboxes", headers=member.headers)).json()
    assert [entry["inbox"]["id"] for entry in reachable["payload"]] == [api["id"]]

    trimmed = await client.post(f"{account}/contacts/{with_phone['id']}/destroy_custom_attributes",
                                json={"custom_attributes": ["a", "missing"]}, headers=member.headers)
    assert trimmed.json()["payload"]["custom_attributes"] == {"b": 2}


async def test_merging_the_same_brazilian_customer_known_with_and_without_the_9th_digit(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    member = await make_member(runtime)
    account = f"/api/v1/accounts/{member.account.id}"
    api = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=member.headers)).json()
    base = await _contact(client, member, name="Ana", phone_number="+5511987654321", custom_attributes={"plan": "gold"})
    mergee = await _contact(client, member, name="Ana Souza", email="ana@example.com", identifier="crm-7",
                            custom_attributes={"plan": "free", "cpf": "123"}, inbox_id=api["id"])
    conversation = (await client.post(f"{account}/conversations", json={"inbox_id": api["id"], "contact_id": mergee["id"]},
                                      headers=member.headers)).json()
    await client.post(f"{account}/contacts/{mergee['id']}/labels", json={"labels": ["lead"]}, headers=member.headers)
    await client.post(f"{account}/contacts/{mergee['id']}/notes", json={"content": "old note"}, headers=member.headers)

    merged = await client.post(f"{account}/actions/contact_merge",
                               json={"base_contact_id": base["id"], "mergee_contact_id": mergee["id"]}, headers=member.headers)
    assert merged.status_code == 200, merged.text
    contact = merged.json()
    assert contact["id"] == base["id"]
    assert contact["email"] == "ana@example.com" and contact["identifier"] == "crm-7"
    assert contact["phone_number"] == "+5511987654321"
    assert contact["custom_attributes"] == {"plan": "gold", "cpf": "123"}
    assert {ci["inbox"]["id"] for ci in contact["contact_inboxes"]} == {api["id"]}
    assert (await client.get(f"{account}/contacts/{mergee['id']}", headers=member.headers)).status_code == 404
    moved = (await client.get(f"{account}/conversations/{conversation['id']}", headers=member.headers)).json()
    assert moved["meta"]["sender"]["id"] == base["id"]
    assert (await client.get(f"{account}/contacts/{base['id']}/labels", headers=member.headers)).json() == {"payload": ["lead"]}
    assert len((await client.get(f"{account}/contacts/{base['id']}/notes", headers=member.headers)).json()) == 1
    itself = await client.post(f"{account}/actions/contact_merge",
                               json={"base_contact_id": base["id"], "mergee_contact_id": base["id"]}, headers=member.headers)
    assert itself.status_code == 422

from __future__ import annotations

import httpx

from nexa.contacts import service as contact_service
from nexa.runtime import Runtime
from tests.factories import make_member, whatsapp_channel


async def test_create_show_update_merge_and_delete(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    account = f"/api/v1/accounts/{member.account.id}"
    inbox = (await client.post(f"{account}/inboxes", json={"name": "WA", "channel": whatsapp_channel()}, headers=member.headers)).json()

    created = await client.post(
        f"{account}/contacts",
        json={"contact": {"name": "Ana", "email": "Ana@Example.com", "phone_number": "+55 11 98765-4321",
                          "inbox_id": inbox["id"], "custom_attributes": {"plan": "gold", "city": "SP"}}},
        headers=member.headers,
    )
    assert created.status_code == 200, created.text
    payload = created.json()["payload"]
    contact = payload["contact"]
    assert contact["email"] == "ana@example.com" and contact["phone_number"] == "+5511987654321"
    assert payload["contact_inbox"]["source_id"] == "5511987654321"  # WhatsApp: the wa_id
    assert contact["contact_inboxes"][0]["inbox"]["channel_type"] == "Channel::Whatsapp"

    updated = await client.put(
        f"{account}/contacts/{contact['id']}", json={"custom_attributes": {"plan": "platinum"}, "lead_score": 8},
        headers=member.headers,
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["payload"]["custom_attributes"] == {"plan": "platinum", "city": "SP"}
    assert updated.json()["payload"]["lead_score"] == 8

    shown = await client.get(f"{account}/contacts/{contact['id']}", headers=member.headers)
    assert shown.json()["payload"]["name"] == "Ana"
    assert (await client.delete(f"{account}/contacts/{contact['id']}", headers=member.headers)).status_code == 200
    assert (await client.get(f"{account}/contacts/{contact['id']}", headers=member.headers)).status_code == 404


async def test_validation_errors_use_chatwoot_bodies(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    base = f"/api/v1/accounts/{member.account.id}/contacts"
    await client.post(base, json={"name": "A", "email": "a@example.com", "phone_number": "5511987654321"}, headers=member.headers)
    taken = await client.post(base, json={"name": "B", "email": "A@example.com"}, headers=member.headers)
    assert taken.status_code == 422
    assert taken.json() == {"message": "Email has already been taken", "attributes": ["email"]}
    same_person = await client.post(base, json={"name": "C", "phone_number": "+55 11 8765-4321"}, headers=member.headers)
    assert same_person.json() == {"message": "Phone number has already been taken", "attributes": ["phone_number"]}
    bad_phone = await client.post(base, json={"name": "D", "phone_number": "12"}, headers=member.headers)
    assert bad_phone.status_code == 422 and bad_phone.json()["attributes"] == ["phone_number"]
    bad_score = await client.post(base, json={"name": "E", "lead_score": 11}, headers=member.headers)
    assert bad_score.status_code == 422


async def test_find_or_create_by_phone_folds_the_brazilian_ninth_digit(runtime: Runtime) -> None:
    member = await make_member(runtime)
    async with runtime.db.session() as session:
        first = await contact_service.find_or_create_by_phone(session, member.account.id, "551187654321", name="Old wa_id")
        second = await contact_service.find_or_create_by_phone(session, member.account.id, "5511987654321")
        third = await contact_service.find_or_create_by_phone(session, member.account.id, "(11) 98765-4321")
        assert first.id == second.id == third.id
        assert first.phone_key == "5511987654321"
        other = await contact_service.find_or_create_by_phone(session, member.account.id, "+5511987650000")
        assert other.id != first.id


async def test_list_sort_labels_and_search(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    base = f"/api/v1/accounts/{member.account.id}/contacts"
    ids = {}
    for name, email in [("Bruno", "bruno@shop.com"), ("Ana", "ana@mail.com"), ("Carla", None)]:
        body = {"name": name, "email": email, "additional_attributes": {"company_name": "Acme 50%"} if name == "Carla" else {}}
        if email is None:
            body["identifier"] = "carla-1"
        ids[name] = (await client.post(base, json=body, headers=member.headers)).json()["payload"]["contact"]["id"]

    by_name = await client.get(base, params={"sort": "name"}, headers=member.headers)
    assert [c["name"] for c in by_name.json()["payload"]] == ["Ana", "Bruno", "Carla"]
    assert by_name.json()["meta"] == {"count": 3, "current_page": "1"}
    by_name_desc = await client.get(base, params={"sort": "-name"}, headers=member.headers)
    assert [c["name"] for c in by_name_desc.json()["payload"]] == ["Carla", "Bruno", "Ana"]

    labels = await client.post(f"{base}/{ids['Ana']}/labels", json={"labels": ["VIP", "lead"]}, headers=member.headers)
    assert labels.json() == {"payload": ["lead", "vip"]}
    replaced = await client.post(f"{base}/{ids['Ana']}/labels", json={"labels": ["vip"]}, headers=member.headers)
    assert replaced.json() == {"payload": ["vip"]}
    assert (await client.get(f"{base}/{ids['Ana']}/labels", headers=member.headers)).json() == {"payload": ["vip"]}
    tagged = await client.get(base, params={"labels[]": "vip"}, headers=member.headers)
    assert [c["name"] for c in tagged.json()["payload"]] == ["Ana"]

    found = await client.get(f"{base}/search", params={"q": "SHOP"}, headers=member.headers)
    assert [c["name"] for c in found.json()["payload"]] == ["Bruno"]
    literal = await client.get(f"{base}/search", params={"q": "50%"}, headers=member.headers)
    assert [c["name"] for c in literal.json()["payload"]] == ["Carla"]
    blank = await client.get(f"{base}/search", params={"q": " "}, headers=member.headers)
    assert blank.status_code == 422 and blank.json() == {"error": "Specify search string with parameter q"}


async def test_contact_inboxes(client: httpx.AsyncClient, runtime: Runtime) -> None:
    member = await make_member(runtime)
    account = f"/api/v1/accounts/{member.account.id}"
    api_inbox = (await client.post(f"{account}/inboxes", json={"name": "API", "channel_type": "api"}, headers=member.headers)).json()
    contact = (await client.post(f"{account}/contacts", json={"name": "Z"}, headers=member.headers)).json()["payload"]["contact"]
    made = await client.post(
        f"{account}/contacts/{contact['id']}/contact_inboxes", json={"inbox_id": api_inbox["id"], "source_id": "crm-42"},
        headers=member.headers,
    )
    assert made.status_code == 200, made.text
    assert made.json()["source_id"] == "crm-42" and made.json()["inbox"]["id"] == api_inbox["id"]
    other = (await client.post(f"{account}/contacts", json={"name": "Y"}, headers=member.headers)).json()["payload"]["contact"]
    clash = await client.post(
        f"{account}/contacts/{other['id']}/contact_inboxes", json={"inbox_id": api_inbox["id"], "source_id": "crm-42"},
        headers=member.headers,
    )
    assert clash.status_code == 422


async def test_another_accounts_contact_is_not_found(client: httpx.AsyncClient, runtime: Runtime) -> None:
    owner = await make_member(runtime)
    stranger = await make_member(runtime)
    contact = (await client.post(f"/api/v1/accounts/{owner.account.id}/contacts", json={"name": "X"}, headers=owner.headers)).json()["payload"]["contact"]
    base = f"/api/v1/accounts/{stranger.account.id}/contacts/{contact['id']}"
    for method, url, body in [
        ("GET", base, None), ("PUT", base, {"name": "y"}), ("PATCH", base, {"name": "y"}), ("DELETE", base, None),
        ("GET", f"{base}/labels", None), ("POST", f"{base}/labels", {"labels": ["a"]}),
        ("GET", f"{base}/conversations", None), ("POST", f"{base}/contact_inboxes", {"inbox_id": 1}),
    ]:
        response = await client.request(method, url, json=body, headers=stranger.headers)
        assert response.status_code == 404, (method, url, response.text)


async def test_a_channel_person_gets_the_same_identifier_one_at_a_time_and_in_a_batch(runtime: Runtime) -> None:
    member = await make_member(runtime)
    account_id = member.account.id
    alone = [contact_service.Person("addr-1", name="Ana", identifier="  ana_tg  "),
             contact_service.Person("addr-2", name="Bia", phone="+5511987650001", identifier=" bia_tg ")]
    batch = [contact_service.Person("addr-3", name="Caio", identifier="  caio_tg  "),
             contact_service.Person("addr-4", name="Duda", phone="+5511987650002", identifier=" duda_tg ")]
    async with runtime.db.session() as session:
        one_by_one = [await contact_service.find_or_create_person(session, account_id, person) for person in alone]
        together = await contact_service.find_or_create_people(session, account_id, batch)
        assert [c.identifier for c in one_by_one + together] == ["ana_tg", "bia_tg", "caio_tg", "duda_tg"]
        # Taken identifiers are compared clean too: a second person with it is known by their address only.
        again = await contact_service.find_or_create_person(session, account_id, contact_service.Person("addr-5", identifier="ana_tg "))
        [again_batched] = await contact_service.find_or_create_people(session, account_id, [contact_service.Person("addr-6", identifier=" caio_tg")])
        assert again.identifier is None and again_batched.identifier is None

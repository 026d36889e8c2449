"""An admin keeps the catalog of products and services; the bot answers price and availability questions
from it through the same search."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from nexa.runtime import Runtime
from tests.channels.outbound.harness import eventually
from tests.factories import Member, make_member
from tests.knowledge.helpers import search

pytestmark = pytest.mark.usefixtures("worker")


def catalog_url(member: Member) -> str:
    return f"/api/v1/accounts/{member.account.id}/catalog"


async def found(client: httpx.AsyncClient, member: Member, query: str, expected: str) -> list[dict[str, Any]]:
    """Search until the catalog's re-indexing job made `expected` the best passage."""

    async def check() -> list[dict[str, Any]]:
        hits = await search(client, member, query)
        assert hits and expected in hits[0]["content"], hits
        return hits

    return await eventually(check)


async def test_items_are_managed_by_form_and_found_by_price_questions(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    response = await client.post(
        f"{catalog_url(admin)}/items",
        headers=admin.headers,
        json={"catalog_item": {"kind": "service", "name": "Corte de cabelo masculino", "price": "45.00",
                               "currency": "brl", "duration_minutes": 30, "sku": "CORTE-M"}},
    )
    assert response.status_code == 200, response.text
    item = response.json()
    assert item["price"] == "45.00" and item["currency"] == "BRL" and item["availability"] == "available"

    [hit, *_] = await found(client, admin, "quanto custa o corte de cabelo?", "Corte de cabelo masculino")
    assert "BRL 45.00" in hit["content"] and "30 min" in hit["content"] and hit["title"] == "Catalog"
    await found(client, admin, "¿cuánto cuesta el corte?", "BRL 45.00")

    response = await client.patch(
        f"{catalog_url(admin)}/items/{item['id']}", headers=admin.headers, json={"price": "50", "availability": "unavailable"}
    )
    assert response.status_code == 200 and response.json()["price"] == "50.00"
    await found(client, admin, "preço do corte", "BRL 50.00")

    duplicate = await client.post(f"{catalog_url(admin)}/items", headers=admin.headers, json={"name": "Outro", "sku": "CORTE-M"})
    assert duplicate.status_code == 422 and duplicate.json()["attributes"] == ["sku"]
    invalid = await client.post(f"{catalog_url(admin)}/items", headers=admin.headers, json={"name": "X", "price": "-1"})
    assert invalid.status_code == 422

    catalog = await client.delete(f"/api/v1/accounts/{admin.account.id}/knowledge/documents/{hit['document_id']}",
                                  headers=admin.headers)
    assert catalog.status_code == 422 and "/catalog/items" in catalog.json()["error"]

    assert (await client.delete(f"{catalog_url(admin)}/items/{item['id']}", headers=admin.headers)).status_code == 200

    async def gone() -> None:
        assert await search(client, admin, "corte de cabelo") == []

    await eventually(gone)


async def test_a_csv_import_creates_and_updates_by_sku_and_reports_bad_rows(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    csv_file = (
        "Nome;Descrição;Preço;Moeda;SKU;Disponibilidade\n"
        "Tênis Corrida Pro;Tênis leve para corrida, tamanhos 37 a 44;R$ 1.299,90;BRL;TEN-01;disponível\n"
        "Meia esportiva;Par de meias;19,90;BRL;MEIA-01;esgotado\n"
        ";sem nome;10;BRL;X-1;sim\n"
        "Boné;Boné aba curva;abc;BRL;BON-01;sim\n"
    ).encode()
    response = await client.post(
        f"{catalog_url(admin)}/import", headers=admin.headers, files={"file": ("catalogo.csv", csv_file)}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["created"], result["updated"]) == (2, 0)
    assert [error["row"] for error in result["errors"]] == [4, 5]

    [hit, *_] = await found(client, admin, "quanto custa o tenis de corrida?", "Tênis Corrida Pro")
    assert "BRL 1299.90" in hit["content"]
    await found(client, admin, "tem meia esportiva disponivel?", "esgotado")

    again = await client.post(
        f"{catalog_url(admin)}/import", headers=admin.headers,
        files={"file": ("c.csv", b"name,price,sku\nTenis Corrida Pro,999.00,TEN-01\n")},
    )
    assert again.json() == {"created": 0, "updated": 1, "errors": []}
    items = (await client.get(f"{catalog_url(admin)}/items", headers=admin.headers)).json()["payload"]
    assert sorted(item["price"] for item in items) == ["19.90", "999.00"]

    no_name = await client.post(
        f"{catalog_url(admin)}/import", headers=admin.headers, files={"file": ("c.csv", b"price,sku\n1,2\n")}
    )
    assert no_name.status_code == 422 and "name column" in no_name.json()["error"]


async def test_the_catalog_of_one_account_is_invisible_to_another(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    item = (await client.post(f"{catalog_url(admin)}/items", headers=admin.headers, json={"name": "Pizza grande", "price": 60})).json()
    await found(client, admin, "pizza", "Pizza grande")
    stranger = await make_member(runtime)
    assert await search(client, stranger, "pizza") == []
    assert (await client.get(f"{catalog_url(stranger)}/items/{item['id']}", headers=stranger.headers)).status_code == 404
    assert (await client.get(f"{catalog_url(stranger)}/items", headers=stranger.headers)).json() == {"payload": []}

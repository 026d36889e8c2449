"""An admin teaches the bot: uploads documents, watches them index, searches them, re-indexes, deletes."""

from __future__ import annotations

import httpx
import pytest

from nexa.runtime import Runtime
from tests.factories import make_member
from tests.knowledge.helpers import add_and_index, indexed, knowledge_url, search, upload

pytestmark = pytest.mark.usefixtures("worker")

SHIPPING_MD = """# Entregas

## Prazos
Entregamos em todo o Brasil. O prazo de entrega para capitais é de 2 a 4 dias úteis;
para o interior, de 5 a 8 dias úteis.

## Frete
O frete é grátis em compras acima de R$ 200. Abaixo disso, o frete custa R$ 19,90.

# Trocas e devoluções
Você pode trocar qualquer produto em até 30 dias após o recebimento, com a etiqueta.
"""


async def test_an_uploaded_markdown_document_becomes_searchable(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    response = await upload(client, admin, "entregas.md", SHIPPING_MD.encode(), title="Política de entregas")
    assert response.status_code == 200, response.text
    queued = response.json()
    assert queued["status"] == "queued" and queued["title"] == "Política de entregas" and queued["error"] is None

    document = await indexed(client, admin, queued["id"])
    assert document["status"] == "ready" and document["progress"] == 100
    assert document["language"] == "pt" and document["chunk_count"] == 3

    hits = await search(client, admin, "quanto custa o frete?")
    assert hits[0]["document_id"] == queued["id"] and hits[0]["title"] == "Política de entregas"
    assert "R$ 19,90" in hits[0]["content"]
    assert 0 < hits[0]["score"] <= 1 and hits[0]["matched_words"] == ["custa", "frete"]  # why it matched
    assert [hit["score"] for hit in hits] == sorted((hit["score"] for hit in hits), reverse=True)

    # Missing accents and another inflection still find it.
    assert "30 dias" in (await search(client, admin, "posso trocar um produto? devolucao"))[0]["content"]


async def test_documents_are_listed_reindexed_and_deleted(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    document = await add_and_index(client, admin, "entregas.md", SHIPPING_MD.encode())
    url = f"{knowledge_url(admin)}/documents"

    listed = (await client.get(url, headers=admin.headers)).json()["payload"]
    assert [d["id"] for d in listed] == [document["id"]]

    response = await client.post(f"{url}/{document['id']}/reindex", headers=admin.headers)
    assert response.status_code == 200 and response.json()["status"] == "queued"
    again = await indexed(client, admin, document["id"])
    assert again["status"] == "ready" and again["chunk_count"] == document["chunk_count"]
    assert len(await search(client, admin, "frete grátis", limit=10)) >= 1

    everything = await client.post(f"{url}/reindex", headers=admin.headers)
    assert [d["status"] for d in everything.json()["payload"]] == ["queued"]
    assert (await indexed(client, admin, document["id"]))["status"] == "ready"

    stored = list(runtime.settings.resolved_media_dir.rglob("*.md"))
    assert len(stored) == 1
    assert (await client.delete(f"{url}/{document['id']}", headers=admin.headers)).status_code == 200
    assert (await client.get(f"{url}/{document['id']}", headers=admin.headers)).status_code == 404
    assert await search(client, admin, "frete grátis") == []
    assert not stored[0].exists()  # the original file goes too


async def test_another_account_never_sees_the_knowledge(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    document = await add_and_index(client, admin, "entregas.md", SHIPPING_MD.encode())
    stranger = await make_member(runtime)

    assert await search(client, stranger, "frete grátis") == []
    for method in ("GET", "DELETE"):
        response = await client.request(
            method, f"{knowledge_url(stranger)}/documents/{document['id']}", headers=stranger.headers
        )
        assert response.status_code == 404
    # Nor through the other account's URL with its own token.
    response = await client.get(f"{knowledge_url(admin)}/documents", headers=stranger.headers)
    assert response.status_code == 401


async def test_faq_pairs_are_pasted_and_each_answer_stays_with_its_question(
    client: httpx.AsyncClient, runtime: Runtime
) -> None:
    admin = await make_member(runtime)
    response = await client.post(
        f"{knowledge_url(admin)}/faqs",
        headers=admin.headers,
        json={"faq": {"title": "Perguntas frequentes", "pairs": [
            {"question": "Vocês aceitam Pix?", "answer": "Sim, Pix com 5% de desconto."},
            {"question": "Qual o horário de atendimento?", "answer": "De segunda a sexta, das 9h às 18h."},
        ]}},
    )
    assert response.status_code == 200, response.text
    document = await indexed(client, admin, response.json()["id"])
    assert document["status"] == "ready" and document["chunk_count"] == 2

    [best, *_] = await search(client, admin, "aceita pix?")
    assert best["content"] == "Vocês aceitam Pix?\nSim, Pix com 5% de desconto."


@pytest.mark.parametrize(
    "query", ['"frete', "AND OR NOT", "frete*", "???", "o a de", "🙂 frete:grátis (já)", "x" * 1000, "NEAR(frete)"]
)
async def test_any_text_typed_in_the_search_box_is_a_query_never_an_error(
    client: httpx.AsyncClient, runtime: Runtime, query: str
) -> None:
    admin = await make_member(runtime)
    await add_and_index(client, admin, "entregas.md", SHIPPING_MD.encode())
    hits = await search(client, admin, query)
    assert all(0 <= hit["score"] <= 1 for hit in hits)


async def test_search_parameters_are_validated(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    url = f"{knowledge_url(admin)}/search"
    for body in ({"query": ""}, {"query": "frete", "limit": 0}, {"query": "frete", "limit": 51}, {}):
        response = await client.post(url, headers=admin.headers, json=body)
        assert response.status_code == 422, body

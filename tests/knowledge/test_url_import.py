"""An admin imports a public CSV (e.g. a Google Sheet shared as CSV) by URL; re-indexing fetches it again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexa.devtools.servers import RunningServer, serve
from nexa.runtime import Runtime
from tests.factories import make_member
from tests.knowledge.helpers import indexed, knowledge_url, search

pytestmark = pytest.mark.usefixtures("worker")

@dataclass
class PublishedSheet:
    """A spreadsheet published as CSV by a real local HTTP server; edit `csv` to change it."""

    server: RunningServer
    csv: str = "Plano,Preço\nBásico,R$ 49\nPremium,R$ 99\n"

    @property
    def url(self) -> str:
        return f"{self.server.url}/sheet.csv"


@pytest.fixture
async def sheet() -> AsyncIterator[PublishedSheet]:
    async def published(_: Request) -> Response:
        return Response(current.csv.encode(), media_type="text/csv")

    async with serve(Starlette(routes=[Route("/sheet.csv", published)])) as server:
        current = PublishedSheet(server)
        yield current


async def test_a_csv_url_is_imported_and_refreshed_on_reindex(
    client: httpx.AsyncClient, runtime: Runtime, sheet: PublishedSheet
) -> None:
    admin = await make_member(runtime)
    response = await client.post(
        f"{knowledge_url(admin)}/imports", headers=admin.headers, json={"url": sheet.url, "title": "Tabela de preços"}
    )
    assert response.status_code == 200, response.text
    document = await indexed(client, admin, response.json()["id"])
    assert document["status"] == "ready" and document["source_url"] == sheet.url
    assert "Plano: Premium; Preço: R$ 99" in (await search(client, admin, "preço do premium"))[0]["content"]

    sheet.csv = "Plano,Preço\nBásico,R$ 59\nPremium,R$ 119\n"
    await client.post(f"{knowledge_url(admin)}/documents/{document['id']}/reindex", headers=admin.headers)
    await indexed(client, admin, document["id"])
    assert "R$ 119" in (await search(client, admin, "preço do premium"))[0]["content"]


async def test_a_url_that_is_not_public_fails_with_the_reason(
    client: httpx.AsyncClient, runtime: Runtime, sheet: PublishedSheet
) -> None:
    admin = await make_member(runtime)
    response = await client.post(
        f"{knowledge_url(admin)}/imports", headers=admin.headers, json={"url": f"{sheet.server.url}/private.csv"}
    )
    document = await indexed(client, admin, response.json()["id"])
    assert document["status"] == "failed" and "HTTP 404" in document["error"]

    invalid = await client.post(f"{knowledge_url(admin)}/imports", headers=admin.headers, json={"url": "ftp://x"})
    assert invalid.status_code == 422

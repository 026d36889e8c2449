"""What the knowledge stories share: uploading through the API and waiting for the indexing job."""

from __future__ import annotations

from typing import Any

import httpx

from tests.channels.outbound.harness import eventually
from tests.factories import Member


def knowledge_url(member: Member) -> str:
    return f"/api/v1/accounts/{member.account.id}/knowledge"


async def upload(
    client: httpx.AsyncClient, member: Member, filename: str, data: bytes, *, title: str | None = None
) -> httpx.Response:
    form = {"title": title} if title else None
    return await client.post(
        f"{knowledge_url(member)}/documents", headers=member.headers, files={"file": (filename, data)}, data=form
    )


async def indexed(client: httpx.AsyncClient, member: Member, document_id: int, *, timeout: float = 20.0) -> dict[str, Any]:
    """The document once its indexing finished (ready or failed)."""

    async def check() -> dict[str, Any]:
        response = await client.get(f"{knowledge_url(member)}/documents/{document_id}", headers=member.headers)
        assert response.status_code == 200, response.text
        document = response.json()
        assert document["status"] in ("ready", "failed"), document
        return document

    return await eventually(check, timeout=timeout)


async def add_and_index(
    client: httpx.AsyncClient, member: Member, filename: str, data: bytes, *, title: str | None = None
) -> dict[str, Any]:
    response = await upload(client, member, filename, data, title=title)
    assert response.status_code == 200, response.text
    document = await indexed(client, member, response.json()["id"])
    assert document["status"] == "ready", document
    return document


async def search(client: httpx.AsyncClient, member: Member, query: str, limit: int = 5) -> list[dict[str, Any]]:
    response = await client.post(
        f"{knowledge_url(member)}/search", headers=member.headers, json={"query": query, "limit": limit}
    )
    assert response.status_code == 200, response.text
    return response.json()["payload"]

"""In production, a URL import may not reach into Nexa's own network (the outgoing webhooks' guard)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from nexa.config import Settings
from nexa.kit.crypto import generate_encryption_key
from nexa.runtime import Runtime
from tests.factories import make_member
from tests.knowledge.helpers import knowledge_url


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        env="production", data_dir=tmp_path, log_json=False, secret_key="s" * 40, encryption_key=generate_encryption_key()
    )


async def test_a_private_address_is_refused(client: httpx.AsyncClient, runtime: Runtime) -> None:
    admin = await make_member(runtime)
    for url in ("http://127.0.0.1:8000/sheet.csv", "http://localhost/x.csv", "http://10.0.0.5/x.csv"):
        response = await client.post(f"{knowledge_url(admin)}/imports", headers=admin.headers, json={"url": url})
        assert response.status_code == 422, url
        assert response.json()["attributes"] == ["url"]

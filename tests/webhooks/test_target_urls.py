"""Where webhooks and bots may point: http(s) only; in production not into Nexa's own network."""

from __future__ import annotations

import pytest

from nexa.config import Settings
from nexa.kit.crypto import generate_encryption_key
from nexa.kit.errors import ValidationFailed
from nexa.kit.urls import check_target_url


def _production(**overrides: object) -> Settings:
    return Settings(env="production", secret_key="s" * 40, encryption_key=generate_encryption_key(), **overrides)


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000/x", "http://localhost/x", "http://10.1.2.3/x", "http://169.254.169.254/latest", "http://[::1]/x"])
async def test_production_refuses_private_and_loopback_targets(url: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await check_target_url(url, _production())
    assert refused.value.attributes == ["url"]
    assert await check_target_url(url, _production(webhook_allow_private_targets=True)) == url


async def test_public_targets_and_schemes() -> None:
    assert await check_target_url(" https://93.184.215.14/hook ", _production()) == "https://93.184.215.14/hook"
    with pytest.raises(ValidationFailed):
        await check_target_url("gopher://example.com/", _production())

"""Outbound URLs Nexa calls on users' behalf (webhooks, bots, imports, automation): only http(s), and in
production never into Nexa's own network unless NEXA_WEBHOOK_ALLOW_PRIVATE_TARGETS says so."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from nexa.config import Settings
from nexa.kit.errors import ValidationFailed
from nexa.kit.lazy_text import _


async def check_target_url(url: str, settings: Settings, *, field: str = "url") -> str:
    """An http(s) URL; in production also one that does not resolve to a private, loopback or link-local
    address (a webhook must not reach into Nexa's own network) unless NEXA_WEBHOOK_ALLOW_PRIVATE_TARGETS."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(_("%(field)s must be an http or https URL", field=field.capitalize()), [field])
    if settings.is_production and not settings.webhook_allow_private_targets:
        if await _is_private_host(parts.hostname):
            raise ValidationFailed(
                _("%(field)s points to a private or loopback address", field=field.capitalize()), [field]
            )
    return url


async def _is_private_host(host: str) -> bool:
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        if host.lower() == "localhost" or host.lower().endswith(".localhost"):
            return True
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return False  # unresolvable now: checked again before every delivery
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    return any(a.is_private or a.is_loopback or a.is_link_local or a.is_reserved or a.is_unspecified for a in addresses)


async def refuse_private_target(url: str, settings: Settings) -> str | None:
    """Why a delivery to `url` is refused (DNS may have changed since the URL was accepted), or None."""
    if not settings.is_production or settings.webhook_allow_private_targets:
        return None
    host = urlsplit(url).hostname or ""
    return "The URL resolves to a private or loopback address" if await _is_private_host(host) else None
